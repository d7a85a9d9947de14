package workunits

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// cutAll cuts in through each of a plain reader, a one-byte-at-a-time
// reader and a half-read reader, and returns the chunks as strings,
// checking every range's hash and that the ranges tile the input.
func cutAll(t *testing.T, in string, spec ChunkSpec) ([]string, error) {
	t.Helper()
	var first []string
	var firstErr error
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(in) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(in)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(in)) },
	}
	for _, name := range []string{"whole", "one byte", "half"} {
		var got []string
		var next int64
		err := CutChunks(readers[name](), spec, func(r Range) error {
			if r.Offset != next {
				t.Errorf("%s: range at %d, want %d (ranges must tile the input)", name, r.Offset, next)
			}
			next = r.Offset + r.Length
			chunk := in[r.Offset : r.Offset+r.Length]
			if r.SHA256 != Hash([]byte(chunk)) {
				t.Errorf("%s: range %+v: hash is not of its bytes", name, r)
			}
			got = append(got, chunk)
			return nil
		})
		if err == nil && next != int64(len(in)) {
			t.Errorf("%s: ranges end at %d, the input at %d", name, next, len(in))
		}
		if name == "whole" {
			first, firstErr = got, err
			continue
		}
		if !reflect.DeepEqual(got, first) || (err == nil) != (firstErr == nil) {
			t.Errorf("%s reader cut %q (%v), whole reader %q (%v)", name, got, err, first, firstErr)
		}
	}
	return first, firstErr
}

const blob = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func TestCutChunks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		by   ChunkBy
		size int64
		sep  string
		want []string
	}{
		{"lines by 2", "a\nb\nc\nd\ne\n", ChunkLines, 2, "", []string{"a\nb\n", "c\nd\n", "e\n"}},
		{"lines, no trailing newline", "a\nb\nc", ChunkLines, 2, "", []string{"a\nb\n", "c"}},
		{"lines, empty lines count", "\n\na\n\n", ChunkLines, 1, "", []string{"\n", "\n", "a\n", "\n"}},
		{"lines, CRLF kept whole", "a\r\nb\r\nc\r\n", ChunkLines, 2, "", []string{"a\r\nb\r\n", "c\r\n"}},
		{"lines, size bigger than the file", "a\nb\n", ChunkLines, 100, "", []string{"a\nb\n"}},
		{"lines, one line no newline", "abc", ChunkLines, 1, "", []string{"abc"}},
		{"lines, empty", "", ChunkLines, 1, "", nil},
		{"records at start", ">a\nAC\n>b\nGT\n>c\nTT\n", ChunkRecords, 2, "", []string{">a\nAC\n>b\nGT\n", ">c\nTT\n"}},
		{"records by 1", ">a\nAC\n>b\nGT\n", ChunkRecords, 1, "", []string{">a\nAC\n", ">b\nGT\n"}},
		{"records, text before the first", "header\n>a\nAC\n>b\nGT\n", ChunkRecords, 1, "", []string{"header\n>a\nAC\n", ">b\nGT\n"}},
		{"records, > inside a line is no start", ">a x>y\nAC\n>b\n", ChunkRecords, 1, "", []string{">a x>y\nAC\n", ">b\n"}},
		{"records, bare separator", ">a>b>c", ChunkRecords, 1, ">", []string{">a", ">b", ">c"}},
		{"records, bare separator not at start", "xx>a>b", ChunkRecords, 1, ">", []string{"xx>a", ">b"}},
		{"records, multibyte separator", "@@a\n@@b\n@@c\n", ChunkRecords, 2, "@@", []string{"@@a\n@@b\n", "@@c\n"}},
		{"records, no separator at all", "just text\n", ChunkRecords, 1, "", []string{"just text\n"}},
		{"records, size bigger than the file", ">a\n>b\n", ChunkRecords, 10, "", []string{">a\n>b\n"}},
		{"records, CRLF", ">a\r\nAC\r\n>b\r\n", ChunkRecords, 1, "", []string{">a\r\nAC\r\n", ">b\r\n"}},
		{"records, empty", "", ChunkRecords, 1, "", nil},
		{"bytes by 3", "abcdefgh", ChunkBytes, 3, "", []string{"abc", "def", "gh"}},
		{"bytes exact", "abcdef", ChunkBytes, 3, "", []string{"abc", "def"}},
		{"bytes, size bigger than the file", "abc", ChunkBytes, 1 << 40, "", []string{"abc"}},
		{"bytes, empty", "", ChunkBytes, 5, "", nil},
		{"bytes of a long blob", blob, ChunkBytes, 20, "", []string{blob[:20], blob[20:40], blob[40:60], blob[60:]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := ChunkSpec{Blob: Hash([]byte(tt.in)), By: tt.by, Size: tt.size, Separator: tt.sep}
			if err := spec.Validate(); err != nil {
				t.Fatal(err)
			}
			got, err := cutAll(t, tt.in, spec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("chunks = %q, want %q", got, tt.want)
			}
		})
	}
}

// A large input crosses many reads; every separator must still be found.
func TestCutChunksAcrossReads(t *testing.T) {
	var b bytes.Buffer
	for i := range 50_000 {
		b.WriteString(">rec\nACGT")
		b.WriteString(strings.Repeat("N", i%7))
		b.WriteString("\n")
	}
	in := b.String()
	spec := ChunkSpec{Blob: Hash(b.Bytes()), By: ChunkRecords, Size: 1000}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err := cutAll(t, in, spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Fatalf("%d chunks, want 50", len(got))
	}
	for i, c := range got {
		if n := strings.Count(c, ">"); n != 1000 || !strings.HasPrefix(c, ">") {
			t.Errorf("chunk %d holds %d records (starts %.5q), want 1000 from its start", i, n, c)
		}
	}
}

func TestCutChunksStopsOnEmitError(t *testing.T) {
	stop := errors.New("stop")
	spec := ChunkSpec{Blob: Hash(nil), By: ChunkBytes, Size: 1}
	n := 0
	err := CutChunks(strings.NewReader("abc"), spec, func(Range) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("err = %v after %d chunks, want stop after 1", err, n)
	}
}

func TestCutChunksTooMany(t *testing.T) {
	spec := ChunkSpec{Blob: Hash(nil), By: ChunkBytes, Size: 1}
	err := CutChunks(strings.NewReader(strings.Repeat("x", MaxUnitsPerJob+1)), spec, func(Range) error { return nil })
	if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "more than") {
		t.Errorf("err = %v, want EINVALID naming the limit", err)
	}
}

func TestChunkSpecValidate(t *testing.T) {
	sha := Hash([]byte("x"))
	tests := []struct {
		name string
		spec ChunkSpec
		want string // in the error; empty: valid
	}{
		{"lines", ChunkSpec{Blob: sha, By: ChunkLines, Size: 1}, ""},
		{"records default separator", ChunkSpec{Blob: sha, By: ChunkRecords, Size: 1}, ""},
		{"bad by", ChunkSpec{Blob: sha, By: "words", Size: 1}, "chunks.by"},
		{"zero size", ChunkSpec{Blob: sha, By: ChunkLines}, "chunks.size"},
		{"negative size", ChunkSpec{Blob: sha, By: ChunkBytes, Size: -1}, "chunks.size"},
		{"huge size", ChunkSpec{Blob: sha, By: ChunkBytes, Size: MaxChunkSize + 1}, "chunks.size"},
		{"bad sha", ChunkSpec{Blob: "abc", By: ChunkLines, Size: 1}, "chunks.blob"},
		{"upper-case sha", ChunkSpec{Blob: strings.ToUpper(sha), By: ChunkLines, Size: 1}, "chunks.blob"},
		{"separator on lines", ChunkSpec{Blob: sha, By: ChunkLines, Size: 1, Separator: ">"}, "separator"},
		{"newline-only separator", ChunkSpec{Blob: sha, By: ChunkRecords, Size: 1, Separator: "\n\n"}, "separator"},
		{"long separator", ChunkSpec{Blob: sha, By: ChunkRecords, Size: 1, Separator: strings.Repeat(">", MaxSeparatorLen+1)}, "separator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.spec.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want EINVALID naming %q", err, tt.want)
			}
		})
	}
}
