//! Dates as party sites print them (being written).
