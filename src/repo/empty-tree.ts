// The tree of an empty directory: every excluded directory points at it, so it is stored once.
import { blobId } from '../model/blob-id.js';
import { encodeTree } from './tree-codec.js';

export const EMPTY_TREE = encodeTree([]);
export const EMPTY_TREE_ID = blobId(EMPTY_TREE);
