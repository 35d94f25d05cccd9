/**
 * CRC-16/CCITT-FALSE as PROTOCOL.md ("Frame") specifies: poly 0x1021, init 0xFFFF,
 * no reflection, no final xor. Check value: "123456789" → 0x29B1.
 */

function buildTable(): Uint16Array {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
}

// A pure constant computed once; not state.
const TABLE = buildTable();

/** CRC over `bytes[start..end)`, continuing from `crc` (default: the 0xFFFF init). */
export function crc16Ccitt(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0xffff): number {
  let c = crc;
  for (let i = start; i < end; i++) c = ((c << 8) & 0xffff) ^ (TABLE[((c >> 8) ^ (bytes[i] ?? 0)) & 0xff] ?? 0);
  return c;
}
