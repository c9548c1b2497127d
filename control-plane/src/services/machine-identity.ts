// The clone rule lives in shared/ because the agent applies it too (image mode: is this the image's
// source machine?). The control plane's sessions use it through this module.
export { sameMachine } from "../../../shared/src/protocol/machine.js";
