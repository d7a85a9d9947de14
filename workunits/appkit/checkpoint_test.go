package appkit

import (
	"os"
	"path/filepath"
	"testing"
)

type state struct {
	RNG  uint64 `json:"rng"`
	Done int    `json:"done"`
}

func TestSaveThenLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.json")
	var got state
	if found, err := Load(path, &got); found || err != nil {
		t.Fatalf("before any save: found %v, err %v", found, err)
	}
	// Every uint64 must come back exactly: a float64 would round this one.
	for _, want := range []state{{RNG: 1<<64 - 1, Done: 7}, {RNG: 3, Done: 8}} {
		if err := Save(path, want); err != nil {
			t.Fatal(err)
		}
		found, err := Load(path, &got)
		if !found || err != nil || got != want {
			t.Fatalf("Load = %+v, found %v, err %v; want %+v", got, found, err, want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the checkpoint", len(entries))
	}
}

func TestSaveFailureKeepsPreviousCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	if err := Save(path, state{RNG: 1, Done: 2}); err != nil {
		t.Fatal(err)
	}
	if err := Save(path, make(chan int)); err == nil {
		t.Fatal("saving a value JSON cannot encode succeeded")
	}
	var got state
	if found, err := Load(path, &got); !found || err != nil || got != (state{RNG: 1, Done: 2}) {
		t.Errorf("after a failed save: %+v, found %v, err %v", got, found, err)
	}
}

func TestLoadAndSaveErrors(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	if err := os.WriteFile(corrupt, []byte(`{"rng": 1,`), 0o600); err != nil {
		t.Fatal(err)
	}
	var s state
	if found, err := Load(corrupt, &s); found || err == nil {
		t.Errorf("corrupt checkpoint: found %v, err %v; want an error", found, err)
	}
	if found, err := Load(dir, &s); found || err == nil {
		t.Errorf("a directory as checkpoint: found %v, err %v; want an error", found, err)
	}
	if err := Save(filepath.Join(dir, "missing", "checkpoint.json"), s); err == nil {
		t.Error("saving into a missing directory succeeded")
	}
}

// Natively there is no worker, so app packages run their loops unhindered.
func TestNativeYieldContinues(t *testing.T) {
	Progress(0.5)
	if a := Yield(); a != Continue {
		t.Errorf("Yield() = %d, want Continue", a)
	}
}
