package view

// FirstTime is firstTime, for the external tests' oracle.
var FirstTime = firstTime
