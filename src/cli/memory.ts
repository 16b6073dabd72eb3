// Process-wide memory settings shared by both commands.

/**
 * glibc malloc arenas for the whole process: two keep allocation fast for our few threads while
 * stopping the per-thread arenas (up to 8 per core) from holding freed memory.
 */
export const MALLOC_ARENAS = 2;
