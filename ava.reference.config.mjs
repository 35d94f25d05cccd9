// Cross-checks against reference tools that CI cannot install (stcgal is on PyPI only):
// run by hand with `npm run check:stcgal`; `npm test` leaves them out (package.json's ava.files).
export default {
  typescript: { rewritePaths: { 'test/': 'dist/test/' }, compile: false },
  files: ['test/reference/**/*.test.ts'],
  timeout: '5m',
  workerThreads: false,
};
