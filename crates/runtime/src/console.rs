//! Pseudo-terminals: allocate in the container, send the master over the console socket.
