/**
 * An error answered to the client in Cloudinary's shape: `{"error":{"message":...}}` with
 * Cloudinary's status code. Thrown anywhere inside a request; the server turns it into the
 * response. Delivery errors also carry the text in `x-cld-error`, as res.cloudinary.com does.
 */
export class CloudinaryApiError extends Error {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "CloudinaryApiError";
    this.status = status;
    this.headers = headers;
  }

  get body(): { error: { message: string } } {
    return errorBody(this.message);
  }
}

export function errorBody(message: string): { error: { message: string } } {
  return { error: { message } };
}

export const badRequest = (message: string): CloudinaryApiError => new CloudinaryApiError(400, message);
export const unauthorized = (message: string): CloudinaryApiError => new CloudinaryApiError(401, message);
export const notFound = (message: string): CloudinaryApiError => new CloudinaryApiError(404, message);
