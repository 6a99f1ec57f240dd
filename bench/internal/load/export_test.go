package load

// SetPolling chooses how connections dialled from now on are read (where
// a poller is available); it returns a function that restores the choice.
func SetPolling(on bool) (restore func()) {
	old := noPoll
	noPoll = !on
	return func() { noPoll = old }
}
