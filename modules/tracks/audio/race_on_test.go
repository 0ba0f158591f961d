//go:build race

package audio

// raceEnabled shortens the slowest tests: the race detector makes go-mp3
// about ten times slower.
const raceEnabled = true
