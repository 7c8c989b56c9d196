/** The broker's version, stamped on events, sinks and `gatehouse version`. */
export const VERSION = '0.1.0';
