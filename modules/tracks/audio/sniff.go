package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
)

// SniffLen is the number of leading bytes Sniff looks at: the upload handler
// reads this much of the body (or the whole body if shorter) before deciding.
// 4 KiB holds every header Sniff needs for ordinary files; SniffAt goes past
// it when the file starts with a larger ID3v2 tag or WAV metadata chunk.
const SniffLen = 4096

// Limits that keep sniffing and analysis bounded on hostile files.
const (
	maxID3Tags     = 8        // consecutive ID3v2 tags skipped before giving up
	maxZeroPadding = 64 << 10 // zero bytes tolerated after an ID3v2 tag
	chainFrames    = 3        // MPEG/ADTS frame headers checked in a row by Sniff
)

// Sniff tells which audio format head, the first bytes of a file, belongs to.
// It looks only at the bytes (never at a name or a declared type), at most the
// first SniffLen of them, and returns false for anything it is not sure is
// audio: text, images, archives, executables, random bytes, or a truncated
// header.
//
// How many bytes each decision needs:
//   - WAV: "RIFF"<size>"WAVE" and a chain of chunks up to a plausible "fmt "
//     chunk, all within head (usually 36 bytes; SniffAt handles a fmt chunk
//     pushed past head by large metadata chunks).
//   - FLAC: "fLaC" and the STREAMINFO block header, 8 bytes (42 to also check
//     the sample rate).
//   - OGG: the first page header and the codec magic of its first packet
//     (Vorbis, Opus, FLAC or Speex), about 40 bytes.
//   - M4A: an ISO BMFF "ftyp" box whose brands say audio (M4A , M4B , M4P ,
//     F4A , F4B ) or generic MP4 (isom, iso2-9, mp41, mp42, dash) without a
//     video-codec brand (avc1, hvc1, hev1, av01, vp09, M4V , qt  ).
//   - AAC (raw ADTS) and MP3 (MPEG audio Layer III or II): frame headers with
//     valid version, layer, bitrate and sample-rate fields, chained: each of
//     up to three headers must be found exactly where the previous frame
//     ends, as long as that position lies inside head. A lone 0xFF 0xFB in
//     random bytes therefore does not pass; a header is accepted alone only
//     when head ends before the next one would start. Free-format MP3
//     (bitrate index 0) and Layer I are not accepted.
//   - Any of FLAC, MP3 and AAC may follow one or more ID3v2 tags (plus zero
//     padding). The tags must end inside head for Sniff to see past them;
//     MP3s with embedded cover art often have tags far larger than 4 KiB, so
//     an upload handler should use SniffReader on the incoming stream (or
//     SniffAt on a stored file), which read past such tags.
func Sniff(head []byte) (Format, bool) {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	if f, ok := sniffContainer(head); ok {
		return f, true
	}
	off, tagged := 0, false
	for range maxID3Tags {
		n, ok := id3v2Len(head[off:])
		if !ok {
			break
		}
		if n > int64(len(head)-off) {
			return "", false // the tag hides what follows
		}
		off += int(n)
		tagged = true
	}
	if tagged {
		for off < len(head) && head[off] == 0 {
			off++
		}
	}
	return sniffStream(head[off:])
}

// SniffAt is Sniff for a whole file: besides the first SniffLen bytes it
// reads past ID3v2 tags of any size (cover art) and the zero padding after
// them, tolerates junk between such a tag and the first MPEG frame (a chain
// of three frame headers must then be visible), and walks WAV chunks wherever
// they lead. It reads a few KiB, never the whole file. The upload handler
// should use it once the body is stored; Analyze uses it too.
func SniffAt(r io.ReaderAt, size int64) (Format, bool) {
	head, err := readHead(r, 0, size)
	if err != nil {
		return "", false
	}
	if f, ok := Sniff(head); ok {
		return f, true
	}
	if isRIFFWAVE(head) {
		if _, err := walkWAV(r, size, true); err != nil {
			return "", false
		}
		return WAV, true
	}
	start, err := streamStart(r, size)
	if err != nil || start == 0 {
		return "", false
	}
	head, err = readHead(r, start, size)
	if err != nil {
		return "", false
	}
	if f, ok := sniffStream(head); ok {
		return f, true
	}
	// Some taggers leave junk between the tag and the first MPEG frame.
	// After an ID3v2 tag, accept a chain of frames starting anywhere in
	// the next SniffLen bytes, as long as the whole chain is visible.
	for i := range head {
		if head[i] == 0xFF && mpegChainComplete(head[i:]) {
			return MP3, true
		}
	}
	return "", false
}

// MaxSniffPrefix bounds how much SniffReader buffers to see past large
// ID3v2 tags (cover art) or WAV metadata chunks; a file whose audio starts
// later than that is not recognised.
const MaxSniffPrefix = 16 << 20

// SniffReader is SniffAt for a stream that cannot be read twice, such as an
// upload being copied to storage: it reads the first SniffLen bytes and, only
// when they start with ID3v2 tags or WAV chunks that hide what follows, reads
// on (at most MaxSniffPrefix bytes in all, and 68 KiB past the end of the
// tags) until it can decide. It returns body, a reader that yields the bytes
// it consumed followed by the rest of r, so the caller stores the stream
// unchanged whatever the answer. err is r's error other than EOF; a stream
// shorter than SniffLen is judged on what there is.
func SniffReader(r io.Reader) (f Format, body io.Reader, ok bool, err error) {
	prefix := make([]byte, 0, SniffLen)
	eof := false
	fill := func(want int) error {
		if want <= len(prefix) || eof {
			return nil
		}
		start := len(prefix)
		prefix = append(prefix, make([]byte, want-start)...)
		n, err := io.ReadFull(r, prefix[start:])
		prefix = prefix[:start+n]
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			eof, err = true, nil
		}
		return err
	}
	err = fill(SniffLen)
	body = io.MultiReader(bytes.NewReader(prefix), r)
	if err != nil {
		return "", body, false, err
	}
	if f, ok := Sniff(prefix); ok {
		return f, body, true, nil
	}
	for range maxID3Tags + 2 {
		want := min(sniffWant(prefix), MaxSniffPrefix)
		if want <= len(prefix) || eof {
			break
		}
		if err := fill(want); err != nil {
			return "", io.MultiReader(bytes.NewReader(prefix), r), false, err
		}
	}
	body = io.MultiReader(bytes.NewReader(prefix), r)
	f, ok = SniffAt(bytes.NewReader(prefix), int64(len(prefix)))
	return f, body, ok, nil
}

// sniffWant returns how many leading bytes SniffAt needs, judging from the
// ones in p: past the ID3v2 tags (plus zero padding and SniffLen), or up to a
// WAV fmt chunk.
func sniffWant(p []byte) int {
	if isRIFFWAVE(p) {
		off := 12
		for off+8 <= len(p) {
			if string(p[off:off+4]) == "fmt " || !printableID(p[off:off+4]) {
				break
			}
			n := int(binary.LittleEndian.Uint32(p[off+4:]))
			off += 8 + n + n&1
		}
		return off + 8 + 1024 // the next chunk header and a fmt body
	}
	off := 0
	for range maxID3Tags {
		if off+10 > len(p) {
			return off + 10
		}
		n, ok := id3v2Len(p[off:])
		if !ok {
			break
		}
		off += int(min(n, MaxSniffPrefix))
	}
	if off == 0 {
		return len(p)
	}
	return off + maxZeroPadding + SniffLen
}

// readHead reads up to SniffLen bytes at off.
func readHead(r io.ReaderAt, off, size int64) ([]byte, error) {
	n := min(size-off, SniffLen)
	if n <= 0 {
		return nil, io.ErrUnexpectedEOF
	}
	buf := make([]byte, n)
	if _, err := readFullAt(r, buf, off); err != nil {
		return nil, err
	}
	return buf, nil
}

// readFullAt is ReadAt that treats io.EOF after a full read as success.
func readFullAt(r io.ReaderAt, buf []byte, off int64) (int, error) {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return n, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// streamStart returns the offset just past any leading ID3v2 tags and the
// zero padding some taggers leave after them (0 when there is no tag).
func streamStart(r io.ReaderAt, size int64) (int64, error) {
	var off int64
	var hdr [10]byte
	for range maxID3Tags {
		if size-off < int64(len(hdr)) {
			break
		}
		if _, err := readFullAt(r, hdr[:], off); err != nil {
			return 0, err
		}
		n, ok := id3v2Len(hdr[:])
		if !ok {
			break
		}
		if n > size-off {
			return 0, io.ErrUnexpectedEOF
		}
		off += n
	}
	if off == 0 {
		return 0, nil
	}
	// Skip zero padding after the tag.
	limit := min(size, off+maxZeroPadding)
	buf := make([]byte, min(4096, max(limit-off, 1)))
	for off < limit {
		n := int(min(int64(len(buf)), limit-off))
		if _, err := readFullAt(r, buf[:n], off); err != nil {
			return 0, err
		}
		i := 0
		for i < n && buf[i] == 0 {
			i++
		}
		off += int64(i)
		if i < n {
			break
		}
	}
	return off, nil
}

// id3v2Len returns the total length (header, body and optional footer) of the
// ID3v2 tag at the start of b.
func id3v2Len(b []byte) (int64, bool) {
	if len(b) < 10 || b[0] != 'I' || b[1] != 'D' || b[2] != '3' {
		return 0, false
	}
	if b[3] < 2 || b[3] > 4 || b[4] == 0xFF {
		return 0, false
	}
	if b[6]|b[7]|b[8]|b[9] >= 0x80 { // size is synchsafe
		return 0, false
	}
	n := int64(b[6])<<21 | int64(b[7])<<14 | int64(b[8])<<7 | int64(b[9])
	n += 10
	if b[3] == 4 && b[5]&0x10 != 0 { // footer present
		n += 10
	}
	return n, true
}

// sniffContainer recognises the formats that must start at offset 0.
func sniffContainer(b []byte) (Format, bool) {
	switch {
	case isRIFFWAVE(b) && wavHeadOK(b):
		return WAV, true
	case len(b) >= 4 && string(b[:4]) == "OggS" && oggHeadOK(b):
		return OGG, true
	case len(b) >= 8 && string(b[4:8]) == "ftyp" && ftypAudio(b):
		return M4A, true
	}
	return "", false
}

// sniffStream recognises the formats that may follow ID3v2 tags.
func sniffStream(b []byte) (Format, bool) {
	switch {
	case len(b) >= 4 && string(b[:4]) == "fLaC":
		if flacHeadOK(b) {
			return FLAC, true
		}
	case adtsChainOK(b):
		return AAC, true
	case mpegChainOK(b):
		return MP3, true
	}
	return "", false
}

func isRIFFWAVE(b []byte) bool {
	return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE"
}

// wavHeadOK walks the RIFF chunks in b up to the "fmt " chunk and checks it.
func wavHeadOK(b []byte) bool {
	off := 12
	for off+8 <= len(b) {
		id := b[off : off+4]
		if !printableID(id) {
			return false
		}
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		if string(id) == "fmt " {
			if n < 16 || off+8+16 > len(b) {
				return false
			}
			_, err := parseWAVFmt(b[off+8 : off+8+min(n, len(b)-off-8)])
			return err == nil
		}
		if n > len(b) { // cannot land inside head: leave it to SniffAt
			return false
		}
		off += 8 + n + n&1
	}
	return false
}

// printableID reports whether a four-character code is printable ASCII, as
// every RIFF chunk and MP4 box type in the wild is.
func printableID(id []byte) bool {
	for _, c := range id {
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}

// flacHeadOK checks the STREAMINFO block header after "fLaC".
func flacHeadOK(b []byte) bool {
	if len(b) < 8 {
		return false
	}
	if b[4]&0x7F != 0 || b[5] != 0 || b[6] != 0 || b[7] != 34 {
		return false
	}
	if len(b) >= 8+34 {
		si, err := parseStreamInfo(b[8 : 8+34])
		return err == nil && si.sampleRate > 0
	}
	return true
}

// oggHeadOK checks the first Ogg page: version 0, beginning of stream, a
// zero granule position, and a first packet naming an audio codec we know.
func oggHeadOK(b []byte) bool {
	if len(b) < 27 || b[4] != 0 || b[5]&0x02 == 0 || b[5]&0x01 != 0 {
		return false
	}
	if !bytes.Equal(b[6:14], make([]byte, 8)) {
		return false
	}
	nseg := int(b[26])
	if len(b) < 27+nseg {
		return false
	}
	return oggCodecOf(b[27+nseg:]) != ""
}

// oggCodecOf names the codec whose identification packet starts p.
func oggCodecOf(p []byte) string {
	switch {
	case bytes.HasPrefix(p, []byte("\x01vorbis")):
		return "vorbis"
	case bytes.HasPrefix(p, []byte("OpusHead")):
		return "opus"
	case bytes.HasPrefix(p, []byte("\x7fFLAC")):
		return "flac"
	case bytes.HasPrefix(p, []byte("Speex   ")):
		return "speex"
	}
	return ""
}

var (
	audioBrands   = []string{"M4A ", "M4B ", "M4P ", "F4A ", "F4B "}
	videoBrands   = []string{"avc1", "hvc1", "hev1", "av01", "vp09", "M4V ", "M4VH", "M4VP", "qt  ", "f4v "}
	genericBrands = []string{"isom", "iso2", "iso3", "iso4", "iso5", "iso6", "iso7", "iso8", "iso9", "mp41", "mp42", "dash"}
)

// ftypAudio decides from an ftyp box whether the file is an audio MP4.
func ftypAudio(b []byte) bool {
	if len(b) < 16 {
		return false
	}
	size := int(binary.BigEndian.Uint32(b))
	if size < 16 || size%4 != 0 || size > 4096 || !printableID(b[8:12]) {
		return false
	}
	major := string(b[8:12])
	if contains(audioBrands, major) {
		return true
	}
	brands := []string{major}
	for off := 16; off+4 <= min(size, len(b)); off += 4 {
		brands = append(brands, string(b[off:off+4]))
	}
	generic := false
	for _, br := range brands {
		if contains(videoBrands, br) {
			return false
		}
		if contains(audioBrands, br) || contains(genericBrands, br) {
			generic = true
		}
	}
	return generic
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// mpegChainOK reports whether b starts with up to chainFrames consecutive
// MPEG audio frame headers of one stream.
func mpegChainOK(b []byte) bool {
	first, ok := parseMPEGHeader(b)
	if !ok {
		return false
	}
	off := 0
	h := first
	for range chainFrames - 1 {
		off += h.frameLen
		if off+4 > len(b) {
			return true // head ends before the next header: accept what we saw
		}
		if h, ok = parseMPEGHeader(b[off:]); !ok || !h.sameStream(first) {
			return false
		}
	}
	return true
}

// mpegChainComplete is mpegChainOK without the benefit of the doubt: all
// chainFrames headers must lie inside b.
func mpegChainComplete(b []byte) bool {
	off := 0
	var first mpegHeader
	for i := range chainFrames {
		h, ok := parseMPEGHeader(b[min(off, len(b)):])
		if !ok || (i > 0 && !h.sameStream(first)) {
			return false
		}
		if i == 0 {
			first = h
		}
		off += h.frameLen
	}
	return true
}

// adtsChainOK is mpegChainOK for ADTS AAC frames.
func adtsChainOK(b []byte) bool {
	first, ok := parseADTSHeader(b)
	if !ok {
		return false
	}
	off := 0
	h := first
	for range chainFrames - 1 {
		off += h.frameLen
		if off+7 > len(b) {
			return true
		}
		if h, ok = parseADTSHeader(b[off:]); !ok || !h.sameStream(first) {
			return false
		}
	}
	return true
}
