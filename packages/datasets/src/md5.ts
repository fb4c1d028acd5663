import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** The md5 of a file, lowercase hex, computed by streaming it. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
