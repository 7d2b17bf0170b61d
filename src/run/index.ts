export { locateHelper, SUPPORTED } from './helper-path.ts';
export { closeAll, openEarlyFiles, openPaths, openPlanFiles } from './open-files.ts';
export { runHelper, type Outcome } from './spawn.ts';
export { callerDescriptors, programEnvironment } from './environment.ts';
