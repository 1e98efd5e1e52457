//! Partition-key hashing: Bob Jenkins' lookup3 `hashlittle2`, as the Event Hubs gateway
//! uses it (docs/PROTOCOL.md §8), and the mapping from hash to partition index.

/// The 16-bit hash of a partition key: `(short)(c ^ b)` of `hashlittle2(utf8(key), 0, 0)`.
pub fn partition_key_hash(key: &str) -> i16 {
    let (c, b) = hashlittle2(key.as_bytes(), 0, 0);
    (c ^ b) as u16 as i16
}

/// The partition index a key maps to among `partition_count` partitions:
/// `abs(h16 % count)` with C-style truncating remainder.
///
/// # Panics
/// Never: a zero count maps to 0.
pub fn partition_for_key(key: &str, partition_count: usize) -> usize {
    if partition_count == 0 {
        return 0;
    }
    let h = partition_key_hash(key) as i32;
    (h % partition_count as i32).unsigned_abs() as usize
}

#[inline]
fn mix(a: &mut u32, b: &mut u32, c: &mut u32) {
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(4);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(6);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(8);
    *b = b.wrapping_add(*a);
    *a = a.wrapping_sub(*c);
    *a ^= c.rotate_left(16);
    *c = c.wrapping_add(*b);
    *b = b.wrapping_sub(*a);
    *b ^= a.rotate_left(19);
    *a = a.wrapping_add(*c);
    *c = c.wrapping_sub(*b);
    *c ^= b.rotate_left(4);
    *b = b.wrapping_add(*a);
}

#[inline]
fn finalize(a: &mut u32, b: &mut u32, c: &mut u32) {
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(14));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(11));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(25));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(16));
    *a ^= *c;
    *a = a.wrapping_sub(c.rotate_left(4));
    *b ^= *a;
    *b = b.wrapping_sub(a.rotate_left(14));
    *c ^= *b;
    *c = c.wrapping_sub(b.rotate_left(24));
}

/// lookup3 `hashlittle2`: returns `(c, b)`.
fn hashlittle2(data: &[u8], seed1: u32, seed2: u32) -> (u32, u32) {
    let init = 0xdead_beef_u32
        .wrapping_add(data.len() as u32)
        .wrapping_add(seed1);
    let (mut a, mut b, mut c) = (init, init, init.wrapping_add(seed2));
    let mut rest = data;
    while rest.len() > 12 {
        a = a.wrapping_add(le32(&rest[0..4]));
        b = b.wrapping_add(le32(&rest[4..8]));
        c = c.wrapping_add(le32(&rest[8..12]));
        mix(&mut a, &mut b, &mut c);
        rest = &rest[12..];
    }
    if rest.is_empty() {
        return (c, b);
    }
    let mut tail = [0u8; 12];
    tail[..rest.len()].copy_from_slice(rest);
    a = a.wrapping_add(le32(&tail[0..4]));
    b = b.wrapping_add(le32(&tail[4..8]));
    c = c.wrapping_add(le32(&tail[8..12]));
    finalize(&mut a, &mut b, &mut c);
    (c, b)
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test vectors of docs/PROTOCOL.md §8.2 (computed with the JS and .NET resolvers).
    #[test]
    fn protocol_vectors() {
        let vectors: &[(&str, i16, usize, usize, usize)] = &[
            ("a", -16220, 0, 0, 28),
            ("abc", -14161, 1, 1, 17),
            ("hello", 2839, 1, 3, 23),
            ("partition-key", -15301, 1, 1, 5),
            ("0123456789ab", -17054, 0, 2, 30),
            ("0123456789abc", -4167, 1, 3, 7),
            ("012345678901234567890123", 14575, 1, 3, 15),
            ("ünïcödé", -539, 1, 3, 27),
            ("key1", 2075, 1, 3, 27),
            ("key2", -30023, 1, 3, 7),
            ("key3", -32648, 0, 0, 8),
            ("test-key-42", -25794, 0, 2, 2),
        ];
        for &(key, h16, p2, p4, p32) in vectors {
            assert_eq!(partition_key_hash(key), h16, "{key}");
            assert_eq!(partition_for_key(key, 2), p2, "{key}/2");
            assert_eq!(partition_for_key(key, 4), p4, "{key}/4");
            assert_eq!(partition_for_key(key, 32), p32, "{key}/32");
        }
    }
}
