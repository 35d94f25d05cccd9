// Stand-in for zod's locales index in the agent bundle: zod's namespace export pulls in every
// language's error messages (~250 KB of the bundle); the agent reports errors in English only.
export { default as en } from 'zod/v4/locales/en.js';
