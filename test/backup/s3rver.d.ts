/** The part of s3rver's API the upload tests use (the package ships no types). */
declare module "s3rver" {
  /** Options of the server (see s3rver's README). */
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    configureBuckets?: { name: string; configs: (string | Buffer)[] }[];
  }
  /** A local S3-compatible server. */
  export default class S3rver {
    constructor(options: S3rverOptions);
    run(): Promise<{ address: string; port: number }>;
    close(): Promise<void>;
  }
}
