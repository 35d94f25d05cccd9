/**
 * CRC-32 as IEEE 802.3 and zlib define it (reflected, polynomial 0xEDB88320, initial
 * value and final XOR 0xFFFFFFFF): the check value of "123456789" is 0xCBF43926. The
 * MCU firmware computes the same over its flash (hardware/firmware/common/image_check.c).
 */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
