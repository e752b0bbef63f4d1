//go:build !race

package ingest_test

const raceOn = false
