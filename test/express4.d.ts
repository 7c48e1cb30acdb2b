// Express 4 is installed under the alias `express4` (package.json) so the compatibility
// suite runs on both majors; its API is the one @types/express describes.
declare module 'express4' {
  import express from 'express';
  export default express;
}
