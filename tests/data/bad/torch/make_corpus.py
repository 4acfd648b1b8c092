# SPDX-License-Identifier: Apache-2.0
# Regenerates the broken torch.save corpus in this folder (stdlib only): python3 make_corpus.py
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def u16(v):
    return struct.pack('<H', v)


def u32(v):
    return struct.pack('<I', v)


def u64(v):
    return struct.pack('<Q', v)


def torch_zip(records, archive='archive', method=0, names=None):
    """A zip laid out like torch.save's miniz writer (aligned, descriptors, zip64 end)."""
    out = bytearray()
    central = []
    for i, (name, data) in enumerate(records):
        full = names[i] if names else archive + '/' + name
        fname = full.encode()
        payload = zlib.compress(data)[2:-4] if method == 8 and name == 'data.pkl' else data
        m = 8 if method == 8 and name == 'data.pkl' else 0
        off = len(out)
        start = off + 30 + len(fname) + 4
        pad = (64 - start % 64) % 64
        extra = b'FB' + u16(pad) + b'Z' * pad
        out += u32(0x04034b50) + u16(0) + u16(0x0808) + u16(m) + u16(0) + u16(0) + u32(0) + u32(0) + u32(0)
        out += u16(len(fname)) + u16(len(extra)) + fname + extra + payload
        crc = zlib.crc32(data) & 0xffffffff
        out += u32(0x08074b50) + u32(crc) + u32(len(payload)) + u32(len(data))
        central.append((fname, off, len(payload), len(data), crc, m))
    cd_off = len(out)
    for fname, off, csize, size, crc, m in central:
        out += u32(0x02014b50) + u16(0) + u16(0) + u16(0x0808) + u16(m) + u16(0) + u16(0) + u32(crc)
        out += u32(csize) + u32(size) + u16(len(fname)) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(off)
        out += fname
    cd_size = len(out) - cd_off
    z64 = len(out)
    n = len(central)
    out += u32(0x06064b50) + u64(44) + u16(0x031e) + u16(0x2d) + u32(0) + u32(0) + u64(n) + u64(n)
    out += u64(cd_size) + u64(cd_off)
    out += u32(0x07064b50) + u32(0) + u64(z64) + u32(1)
    out += u32(0x06054b50) + u16(0) + u16(0) + u16(n) + u16(n) + u32(cd_size) + u32(cd_off) + u16(0)
    return bytes(out)


def binunicode(s):
    b = s.encode()
    return b'X' + u32(len(b)) + b


def tensor_pickle(offset=0, size=(4,), stride=(1,), numel=4, key='0', storage=b'ctorch\nFloatStorage\n'):
    """data.pkl of {'w': _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}."""
    def ints(t):
        return b'(' + b''.join(b'J' + struct.pack('<i', x) for x in t) + b't'
    pid = b'(' + binunicode('storage') + storage + binunicode(key) + binunicode('cpu') + b'J' + struct.pack('<i', numel) + b't'
    return (b'\x80\x02}(' + binunicode('w') + b'ctorch._utils\n_rebuild_tensor_v2\n(' + pid + b'Q' +
            b'J' + struct.pack('<i', offset) + ints(size) + ints(stride) + b'\x89' +
            b'ccollections\nOrderedDict\n)Rt' + b'Ru.')


FLOATS = struct.pack('<4f', 0, 1, 2, 3)


def good(pkl=None, extra=()):
    recs = [('data.pkl', pkl if pkl is not None else tensor_pickle()), ('data/0', FLOATS)]
    recs += list(extra)
    recs.append(('version', b'3\n'))
    return torch_zip(recs)


def evil(pkl_body):
    return torch_zip([('data.pkl', pkl_body), ('version', b'3\n')])


def main():
    base = good()
    files = {}
    # Truncations: every cut loses the end record.
    files['truncated_in_local_header.bin'] = base[:20]
    files['truncated_in_data.bin'] = base[:100]
    cd = base.find(b'PK\x01\x02')
    files['truncated_in_central_directory.bin'] = base[:cd + 30]
    files['truncated_in_end_record.bin'] = base[:-10]
    files['empty.bin'] = b''
    files['not_a_zip.bin'] = b'PK\x03\x04' + b'\x00' * 40
    # Central directory damage.
    b = bytearray(base)
    b[cd:cd + 4] = b'PK\x09\x09'
    files['flipped_central_signature.bin'] = bytes(b)
    b = bytearray(base)
    b[cd + 28:cd + 30] = u16(0xffff)
    files['central_name_length_past_directory.bin'] = bytes(b)
    b = bytearray(base)
    b[cd + 42:cd + 46] = u32(0x7ffffff0)
    files['entry_offset_past_eof.bin'] = bytes(b)
    cd2 = base.find(b'PK\x01\x02', cd + 4)
    b = bytearray(base)
    b[cd2 + 20:cd2 + 28] = u32(0x7fffff00) * 2
    files['entry_size_past_eof.bin'] = bytes(b)
    b = bytearray(base)
    b[cd2 + 20:cd2 + 28] = u32(0xffffffff) * 2
    files['zip64_sizes_without_extra.bin'] = bytes(b)
    z64 = base.find(b'PK\x06\x06')
    b = bytearray(base)
    b[z64 + 32:z64 + 40] = u64(1 << 60)
    b[z64 + 24:z64 + 32] = u64(1 << 60)
    files['zip64_entry_count_out_of_range.bin'] = bytes(b)
    b = bytearray(base)
    b[z64 + 48:z64 + 56] = u64(1 << 62)
    files['zip64_directory_offset_out_of_range.bin'] = bytes(b)
    loc = base.find(b'PK\x06\x07')
    b = bytearray(base)
    b[loc + 8:loc + 16] = u64(0xffffffffffff)
    files['zip64_locator_offset_out_of_range.bin'] = bytes(b)
    # Records.
    files['deflate_data_pkl.bin'] = torch_zip([('data.pkl', tensor_pickle()), ('data/0', FLOATS), ('version', b'3\n')],
                                              method=8)
    files['missing_data_pkl.bin'] = torch_zip([('data/0', FLOATS), ('version', b'3\n')])
    files['missing_storage_record.bin'] = torch_zip([('data.pkl', tensor_pickle()), ('version', b'3\n')])
    files['missing_version.bin'] = torch_zip([('data.pkl', tensor_pickle()), ('data/0', FLOATS)])
    files['no_archive_folder.bin'] = torch_zip([('data.pkl', tensor_pickle()), ('version', b'3\n')],
                                               names=['data.pkl', 'version'])
    files['storage_record_too_short.bin'] = good(tensor_pickle(numel=400))
    files['big_endian.bin'] = good(extra=[('byteorder', b'big')])
    # Tensor views.
    files['storage_offset_out_of_bounds.bin'] = good(tensor_pickle(offset=3, size=(4,)))
    files['stride_out_of_bounds.bin'] = good(tensor_pickle(size=(2, 2), stride=(4, 1)))
    files['negative_stride.bin'] = good(tensor_pickle(size=(4,), stride=(-1,)))
    files['unknown_storage_type.bin'] = good(tensor_pickle(storage=b'ctorch\nQInt8Storage\n'))
    files['persistent_id_not_storage.bin'] = good(b'\x80\x02' + binunicode('x') + b'Q.')
    # Hostile pickles.
    files['os_system_reduce.bin'] = evil(b'\x80\x02cos\nsystem\n' + binunicode('touch /tmp/pwned') + b'\x85R.')
    files['builtins_eval.bin'] = evil(b'\x80\x02c__builtin__\neval\n' + binunicode('1+1') + b'\x85R.')
    files['subprocess_popen_stack_global.bin'] = evil(
        b'\x80\x04\x8c\x0asubprocess\x8c\x05Popen\x93\x8c\x02id\x85\x85R.')
    files['posix_system_stack_global.bin'] = evil(b'\x80\x04\x8c\x05posix\x8c\x06system\x93\x8c\x02id\x85R.')
    files['getattr_builtins.bin'] = evil(b'\x80\x02c__builtin__\ngetattr\n.')
    files['nested_hostile_in_state_dict.bin'] = evil(
        b'\x80\x02}(' + binunicode('w') + b'cos\npopen\n' + binunicode('id') + b'\x85Ru.')
    # Resource bombs.
    files['memo_bomb.bin'] = evil(b'\x80\x02Nr\xff\xff\xff\x7f.')
    files['nesting_bomb_marks.bin'] = evil(b'\x80\x02' + b'(]' * 5000 + b'N.')
    files['nesting_bomb_lists.bin'] = evil(b'\x80\x02' + b']' * 5000 + b'a' * 4999 + b'.')
    laughs = b'\x80\x02]q\x00'
    for i in range(1, 200):
        laughs += b'](h' + bytes([(i - 1) % 256]) + b'h' + bytes([(i - 1) % 256]) + b'eq' + bytes([i % 256])
    files['billion_laughs.bin'] = evil(laughs + b'.')
    files['huge_string_length.bin'] = evil(b'\x80\x04\x8d' + u64(1 << 62) + b'abc.')
    files['huge_list_of_huge_strings.bin'] = evil(
        b'\x80\x02X' + u32(1 << 15) + b'a' * (1 << 15) + b'q\x00](' + b'h\x00' * 20000 + b'e.')
    files['truncated_pickle.bin'] = good(tensor_pickle()[:-7])
    files['unknown_opcode.bin'] = evil(b'\x80\x02\xff.')
    files['legacy_truncated.bin'] = b'\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.\x80\x02M\xe9\x03.'
    for name, data in sorted(files.items()):
        with open(os.path.join(HERE, name), 'wb') as f:
            f.write(data)
    return files


if __name__ == '__main__':
    for name in sorted(main()):
        print(name)
