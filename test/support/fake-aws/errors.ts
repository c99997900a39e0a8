/** An error that the fake returns in the service's wire format (JSON 1.1 `__type` or EC2 `<Errors>`). */
export class AwsError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = 400) {
    super(message);
    this.name = code;
    this.code = code;
    this.status = status;
  }
}

/** Well-known HTTP statuses for codes the fake can inject. */
export function statusForCode(code: string): number {
  switch (code) {
    case 'RequestLimitExceeded':
    case 'ServiceUnavailable':
    case 'Unavailable':
    case 'ServiceUnavailableException':
      return 503;
    case 'ServerException':
    case 'InternalFailure':
    case 'InternalError':
    case 'InternalServerError':
      return 500;
    default:
      return 400;
  }
}
