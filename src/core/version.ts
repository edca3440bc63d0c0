/** The tool's version, as SARIF's `tool.driver.version` and `--version` print it; a test keeps it equal to package.json's. */
export const MESHRANGE_VERSION = '0.1.0';
export const MESHRANGE_INFO_URI = 'https://github.com/meshrange/meshrange';
