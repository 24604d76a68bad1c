"""Sending a file's bytes: the one serving function every door calls, and the API's fast
door in front of it."""
