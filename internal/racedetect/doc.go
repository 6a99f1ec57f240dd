// Package racedetect tells whether the binary was built with -race, so that
// heavy tests can scale themselves down under the detector. Read Enabled.
package racedetect
