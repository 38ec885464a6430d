package stack

// LoopbackBusy reports whether frames wait on lo or their delivery is
// scheduled: the differential test's settle waits for it to end.
func (s *Stack) LoopbackBusy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.loq.q) > 0 || s.loq.scheduled
}
