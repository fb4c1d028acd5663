import { PNG } from 'pngjs';
import { DatasetError, messageOf } from './errors.js';

/**
 * Decodes a PNG of the expected size into RGB8 (`h*w*3` bytes, row-major). Any colour type and bit
 * depth is accepted (gray is replicated, palettes expanded, 16-bit scaled, alpha dropped).
 * @param source file name for errors
 * @throws DatasetError when the data is not a PNG or not `size`×`size`.
 */
export function decodePngRgb(source: string, data: Buffer, size = 32): Uint8Array {
  // The IHDR's size first: a header claiming a huge image must not make the decoder allocate it.
  if (data.length >= 24 && data.toString('latin1', 12, 16) === 'IHDR') {
    const [width, height] = [data.readUInt32BE(16), data.readUInt32BE(20)];
    if (width !== size || height !== size) throw new DatasetError(source, `PNG is ${width}×${height}, expected ${size}×${size}`);
  }
  let png: { width: number; height: number; data: Buffer };
  try {
    png = PNG.sync.read(data);
  } catch (error) {
    throw new DatasetError(source, `is not a valid PNG: ${messageOf(error)}`, { cause: error });
  }
  if (png.width !== size || png.height !== size) {
    throw new DatasetError(source, `PNG is ${png.width}×${png.height}, expected ${size}×${size}`);
  }
  const pixels = size * size;
  const rgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    rgb[3 * p] = png.data[4 * p]!;
    rgb[3 * p + 1] = png.data[4 * p + 1]!;
    rgb[3 * p + 2] = png.data[4 * p + 2]!;
  }
  return rgb;
}
