/** The SDK's version, sent to the signaling server so that operators can see which clients are out there. */
export const VERSION = "0.1.0";
