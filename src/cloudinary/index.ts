export { createCloudinaryStandIn, type CloudinaryStandIn } from "./server.js";
export {
  FREE_PLAN_MAX_FILE_BYTES,
  resolveStandInOptions,
  type CloudinaryStandInOptions,
  type RateLimitOptions,
  type ResolvedStandInOptions,
  type UploadPreset,
} from "./options.js";
export { CloudinaryApiError, errorBody } from "./api-error.js";
export {
  checkTimestamp,
  formatUtc,
  responseSignature,
  signParams,
  signString,
  stringToSign,
  verifySignature,
  type SignatureAlgorithm,
} from "./signature.js";
export { bucketFor, type S3Options } from "./object-store.js";
export { checkPublicId, resolvePublicId } from "./public-id.js";
export { parseTransformation, isTransformationSegment, type TransformStep } from "./transformation.js";
export { parseDeliveryPath } from "./delivery.js";
export { deliveryPath, escapePublicId } from "./response-shape.js";
