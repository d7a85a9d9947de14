package workunits

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"regexp"
	"strings"
)

// ChunkBy is how the chunks splitter counts: lines, records or bytes.
type ChunkBy string

const (
	ChunkLines   ChunkBy = "lines"   // a line ends with "\n" (which it keeps, "\r" too)
	ChunkRecords ChunkBy = "records" // a record starts at each separator
	ChunkBytes   ChunkBy = "bytes"
)

// DefaultRecordSeparator starts a FASTA record: ">" at the start of a line.
const DefaultRecordSeparator = "\n>"

// MaxChunkSize bounds chunks.size: far above any blob, low enough that
// offsets never overflow.
const MaxChunkSize = 1 << 50

// MaxSeparatorLen bounds a record separator.
const MaxSeparatorLen = 64

// ChunkSpec asks for an input blob to be cut into units of Size lines,
// records or bytes each.
type ChunkSpec struct {
	Blob      string  // SHA-256 (hex) of the blob
	By        ChunkBy // lines, records or bytes
	Size      int64   // lines, records or bytes per unit
	Separator string  // records only; leading newlines mean "at the start of a line"
}

var hexSHA256 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidSHA256 reports whether s is a SHA-256 as the API writes it: 64
// lowercase hex digits.
func ValidSHA256(s string) bool { return hexSHA256.MatchString(s) }

// Validate checks the spec and fills in the default separator.
func (s *ChunkSpec) Validate() error {
	if !ValidSHA256(s.Blob) {
		return Errorf(EINVALID, "chunks.blob must be a SHA-256 in lowercase hex (64 digits), got %q", s.Blob)
	}
	switch s.By {
	case ChunkLines, ChunkBytes:
		if s.Separator != "" {
			return Errorf(EINVALID, "chunks.separator is only for by %q", ChunkRecords)
		}
	case ChunkRecords:
		if s.Separator == "" {
			s.Separator = DefaultRecordSeparator
		}
		if len(s.Separator) > MaxSeparatorLen || strings.Trim(s.Separator, "\n") == "" {
			return Errorf(EINVALID, "chunks.separator must be 1 to %d bytes and not only newlines", MaxSeparatorLen)
		}
	default:
		return Errorf(EINVALID, "chunks.by must be %q, %q or %q, got %q", ChunkLines, ChunkRecords, ChunkBytes, s.By)
	}
	if s.Size <= 0 || s.Size > MaxChunkSize {
		return Errorf(EINVALID, "chunks.size must be between 1 and %d, got %d", int64(MaxChunkSize), s.Size)
	}
	return nil
}

// Range is a unit's part of an input blob and the SHA-256 of those bytes.
type Range struct {
	Offset int64
	Length int64
	SHA256 string
}

// CutChunks reads the whole of r once and calls emit with each chunk's
// range, in order, without holding more than a buffer of it: a chunk ends
// after every Size lines, before every Size-th record start after the
// first, or every Size bytes. Text before the first record belongs to the
// first chunk. An empty r gives no chunks; more than MaxUnitsPerJob chunks
// is an EINVALID error. spec must be valid.
func CutChunks(r io.Reader, spec ChunkSpec, emit func(Range) error) error {
	c := cutter{spec: spec, emit: emit, h: sha256.New()}
	switch spec.By {
	case ChunkBytes:
		return c.byBytes(r)
	case ChunkLines:
		c.sep, c.lead = []byte("\n"), 1 // a line keeps its newline
	default:
		// A record starts after the separator's leading newlines, and the
		// start of the input counts as the start of a line.
		c.sep = []byte(spec.Separator)
		c.lead = len(spec.Separator) - len(strings.TrimLeft(spec.Separator, "\n"))
		c.prefix = c.lead
	}
	return c.separated(r)
}

type cutter struct {
	spec   ChunkSpec
	emit   func(Range) error
	h      hash.Hash
	start  int64 // where the current chunk starts
	hashed int64 // bytes hashed so far (into earlier chunks or the current one)
	count  int64 // chunks emitted
	sep    []byte
	prefix int   // newlines taken to come before the input
	lead   int   // where in sep a cut falls
	seen   int64 // separators seen
}

// cut ends the current chunk at end; bytes [hashed, end) are in data,
// which starts at base.
func (c *cutter) cut(data []byte, base, end int64) error {
	c.hashTo(data, base, end)
	if end == c.start {
		return nil
	}
	if c.count++; c.count > MaxUnitsPerJob {
		return Errorf(EINVALID, "chunks: the blob cuts into more than %d units, the most a job may have; raise chunks.size", MaxUnitsPerJob)
	}
	rg := Range{Offset: c.start, Length: end - c.start, SHA256: hex.EncodeToString(c.h.Sum(nil))}
	c.h.Reset()
	c.start = end
	return c.emit(rg)
}

// hashTo adds bytes up to end to the current chunk's hash.
func (c *cutter) hashTo(data []byte, base, end int64) {
	if end > c.hashed {
		c.h.Write(data[c.hashed-base : end-base])
		c.hashed = end
	}
}

func (c *cutter) byBytes(r io.Reader) error {
	buf := make([]byte, 64<<10)
	var base int64
	for {
		n, err := r.Read(buf)
		data := buf[:n]
		for next := c.start + c.spec.Size; next <= base+int64(n); next = c.start + c.spec.Size {
			if cerr := c.cut(data, base, next); cerr != nil {
				return cerr
			}
		}
		c.hashTo(data, base, base+int64(n))
		base += int64(n)
		if errors.Is(err, io.EOF) {
			return c.cut(data, base-int64(n), base)
		}
		if err != nil {
			return err
		}
	}
}

// separated cuts at separators. The window holds the last len(sep)-1 bytes
// of what came before, so a separator split across reads is still found;
// the start of the input counts as following lead newlines.
func (c *cutter) separated(r io.Reader) error {
	buf := make([]byte, 64<<10)
	window := append([]byte(nil), c.sep[:c.prefix]...)
	base := -int64(c.prefix) // offset of window[0]
	searched := base         // separators starting before this were handled
	for {
		n, err := r.Read(buf)
		window = append(window, buf[:n]...)
		for {
			from := searched - base
			i := bytes.Index(window[from:], c.sep)
			if i < 0 {
				break
			}
			at := base + from + int64(i)
			searched = at + 1
			if cerr := c.separator(window, base, at); cerr != nil {
				return cerr
			}
		}
		end := base + int64(len(window))
		searched = max(searched, end-int64(len(c.sep))+1)
		if errors.Is(err, io.EOF) {
			c.hashTo(window, base, end)
			return c.cut(window, base, end)
		}
		if err != nil {
			return err
		}
		// Hash what no later separator can cut before, and keep the tail.
		keep := min(int64(len(window)), int64(len(c.sep)-1))
		c.hashTo(window, base, end-keep)
		drop := min(c.hashed, end-keep) - base
		if drop > 0 {
			window = append(window[:0], window[drop:]...)
			base += drop
		}
	}
}

// separator handles a separator found at offset at.
func (c *cutter) separator(window []byte, base, at int64) error {
	c.seen++
	if c.spec.By == ChunkLines {
		if c.seen%c.spec.Size == 0 {
			return c.cut(window, base, at+1)
		}
		return nil
	}
	// Record seen-1 starts here; the first record keeps any text before it.
	if c.seen > 1 && (c.seen-1)%c.spec.Size == 0 {
		return c.cut(window, base, at+int64(c.lead))
	}
	return nil
}

// InputRef is a unit input kept as a range of an input blob instead of
// inline: the worker fetches the range and checks it against SHA256.
type InputRef struct {
	Blob   string // SHA-256 of the whole blob
	Offset int64
	Length int64
	SHA256 string // of the range
}
