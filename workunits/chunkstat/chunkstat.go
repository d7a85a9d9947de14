// Package chunkstat is a small sample app for jobs cut from an input file
// by the chunks splitter: it describes the chunk it is given (bytes,
// lines, FASTA records and their hash), so that whoever submitted the job
// can check that each unit saw exactly its part of the file.
package chunkstat

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
)

// Stats describes one chunk.
type Stats struct {
	Bytes   int64  `json:"bytes"`
	Lines   int64  `json:"lines"`   // newlines, plus a last line without one
	Records int64  `json:"records"` // lines starting with ">"
	First   string `json:"first"`   // the first line (up to 4 KiB), without its newline
	SHA256  string `json:"sha256"`
}

// Stat reads r to its end and describes it.
func Stat(r io.Reader) (Stats, error) {
	var s Stats
	h := sha256.New()
	br := bufio.NewReader(io.TeeReader(r, h))
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if s.Lines == 0 {
				s.First = string(trimNewline(line))
			}
			s.Lines++
			s.Bytes += int64(len(line))
			if line[0] == '>' {
				s.Records++
			}
		}
		for err == bufio.ErrBufferFull { // a long line: count its rest
			line, err = br.ReadSlice('\n')
			s.Bytes += int64(len(line))
		}
		if err == io.EOF {
			s.SHA256 = hex.EncodeToString(h.Sum(nil))
			return s, nil
		}
		if err != nil {
			return s, err
		}
	}
}

func trimNewline(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}
