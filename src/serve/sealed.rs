//! Documents in sealed memory files, sent with `sendfile`.
//!
//! A large document (or compressed copy) is written once into a memfd,
//! sealed so nothing can change or shrink it, and mapped read-only: the
//! mapping is the document's bytes ([`bytes`]). When the server writes a
//! body that lies in such a mapping, [`Stream`] hands the kernel the file
//! instead of the memory (`sendfile`), so the body reaches the socket
//! without being copied from user space, as nginx sends a static file. A
//! 400 kB feed answered from memory spent most of its time in that copy.
//!
//! The mapping and its file live exactly as long as the last [`Bytes`]
//! pointing into them, and are unregistered before they are unmapped: an
//! address is never taken for a document after its memory is gone.
//! Anything that fails (no memfd, a file limit reached, a kernel without
//! `sendfile` for it) falls back to memory and `write`, which is what
//! happened before.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IoSlice, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

/// Smaller buffers stay on the heap: copying them is cheap, and a memfd
/// costs a page at least and a file descriptor.
pub const MIN_SEALED_BYTES: usize = 32 * 1024;
/// At most this many sealed buffers at once, so documents never take the
/// file descriptors that connections and the store need; the rest stay on
/// the heap. Only the documents kept in memory and their compressed copies
/// are sealed: about 15, and as many again while a publish replaces them.
const MAX_SEALED: usize = 64;

/// Sealed buffers alive now.
static LIVE: AtomicUsize = AtomicUsize::new(0);
/// Whether documents are sealed: only a process that serves them gains
/// (`plenum run`); for `poll-once` sealing would be work for nothing.
static ENABLED: AtomicBool = AtomicBool::new(false);
/// Set when the kernel refuses `sendfile` from a memfd (an old kernel, a
/// seccomp filter): sealed bodies are written from memory from then on.
static REFUSED: AtomicBool = AtomicBool::new(false);

/// Seals large documents from now on; the daemon calls it before it
/// publishes. A process that seals must ignore SIGPIPE, as Rust programs
/// do unless they change it: `sendfile` to a socket the client closed
/// raises it.
pub fn enable() {
    ENABLED.store(true, Ordering::Release);
}

/// Every live sealed mapping: its start address → its length and file.
static MAPPED: Mutex<BTreeMap<usize, (usize, Arc<File>)>> = Mutex::new(BTreeMap::new());

fn mapped() -> std::sync::MutexGuard<'static, BTreeMap<usize, (usize, Arc<File>)>> {
    // The map is only ever left whole: a panic elsewhere changes nothing.
    MAPPED.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `data` as shared bytes: in a sealed memory file when it is large enough
/// and one can be made, else on the heap without the slack rendering left.
pub fn bytes(mut data: Vec<u8>) -> Bytes {
    if data.len() >= MIN_SEALED_BYTES && ENABLED.load(Ordering::Acquire) {
        if LIVE.fetch_add(1, Ordering::AcqRel) < MAX_SEALED {
            match Sealed::new(&data) {
                Ok(sealed) => return Bytes::from_owner(sealed),
                Err(e) => tracing::debug!(error = %e, "cannot seal a document in memory; it stays on the heap"),
            }
        }
        LIVE.fetch_sub(1, Ordering::AcqRel);
    }
    data.shrink_to_fit();
    Bytes::from(data)
}

/// One sealed, mapped memory file.
struct Sealed {
    map: memmap2::Mmap,
}

impl Sealed {
    fn new(data: &[u8]) -> io::Result<Sealed> {
        use rustix::fs::{MemfdFlags, SealFlags};
        // Never executable (a host may insist: vm.memfd_noexec); kernels
        // before 6.3 do not know the flag and refuse it.
        let flags = MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING;
        let fd = match rustix::fs::memfd_create("plenum-document", flags | MemfdFlags::NOEXEC_SEAL) {
            Err(rustix::io::Errno::INVAL) => rustix::fs::memfd_create("plenum-document", flags)?,
            made => made?,
        };
        let mut file = File::from(fd);
        file.write_all(data)?;
        rustix::fs::fcntl_add_seals(&file, SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL)?;
        // SAFETY: the file is sealed against writes and resizing, and no
        // writable mapping of it exists (F_SEAL_WRITE refuses to seal one):
        // the mapped bytes can never change or go away under the mapping.
        // Populated: the pages are mapped at once, not one fault at a time.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file)? };
        if map.len() != data.len() {
            return Err(io::Error::other("the sealed file maps at another length"));
        }
        mapped().insert(map.as_ptr() as usize, (map.len(), Arc::new(file)));
        Ok(Sealed { map })
    }
}

impl AsRef<[u8]> for Sealed {
    fn as_ref(&self) -> &[u8] {
        &self.map
    }
}

impl Drop for Sealed {
    fn drop(&mut self) {
        // Unregistered before the mapping goes (the field is dropped after
        // this): a later mapping at the same address is never mistaken for it.
        let removed = mapped().remove(&(self.map.as_ptr() as usize));
        // Its descriptor (the last `Arc` but for a write in progress) is
        // closed after the lock is let go.
        drop(removed);
        LIVE.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The sealed file holding `slice`, and where in it the slice starts.
/// While any slice of a sealed buffer exists, the buffer is alive and its
/// entry names its own file: the answer is never another buffer's.
fn sealed_file(slice: &[u8]) -> Option<(Arc<File>, u64)> {
    if slice.len() < MIN_SEALED_BYTES / 2 || REFUSED.load(Ordering::Relaxed) {
        return None;
    }
    let start = slice.as_ptr() as usize;
    let map = mapped();
    let (&base, (len, file)) = map.range(..=start).next_back()?;
    (start + slice.len() <= base + len).then(|| (file.clone(), (start - base) as u64))
}

/// Whether `slice` lies in a sealed buffer (and goes out with `sendfile`).
#[cfg(test)]
pub(crate) fn is_sealed(slice: &[u8]) -> bool {
    sealed_file(slice).is_some()
}

/// A server connection: reads as the socket does; writes a body that lies
/// in a sealed file with `sendfile`, and anything else with `writev`.
pub struct Stream(pub TcpStream);

impl Stream {
    /// Sends `buf`, which lies in `file` from `offset`, with `sendfile`;
    /// from memory if the kernel will not.
    fn poll_send_sealed(&mut self, cx: &mut Context<'_>, buf: &[u8], file: &File, offset: u64) -> Poll<io::Result<usize>> {
        match ready!(self.poll_send(cx, |socket| rustix::fs::sendfile(socket, file, Some(&mut { offset }), buf.len()))) {
            Ok(n) if n > 0 => return Poll::Ready(Ok(n)),
            Err(e)
                if matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS | libc::EPERM | libc::EOPNOTSUPP))
                    && !REFUSED.swap(true, Ordering::Relaxed) =>
            {
                tracing::info!(error = %e, "the kernel does not send from memory files; answers are copied instead");
            }
            // Nothing sent, or a socket error, which the plain write reports again.
            _ => {}
        }
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    /// Runs the non-blocking send `op` once the socket takes data.
    fn poll_send(&self, cx: &mut Context<'_>, mut op: impl FnMut(&TcpStream) -> rustix::io::Result<usize>) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_io(Interest::WRITABLE, || op(&self.0).map_err(io::Error::from)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                outcome => return Poll::Ready(outcome),
            }
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Stream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match sealed_file(buf) {
            Some((file, offset)) => self.poll_send_sealed(cx, buf, &file, offset),
            None => Pin::new(&mut self.0).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[IoSlice<'_>]) -> Poll<io::Result<usize>> {
        // Plain slices go out together with writev, up to the first sealed
        // one; a sealed slice at the front goes out on its own.
        let Some(first) = bufs.iter().position(|b| !b.is_empty()) else {
            return Poll::Ready(Ok(0));
        };
        if let Some((file, offset)) = sealed_file(&bufs[first]) {
            return self.poll_send_sealed(cx, &bufs[first], &file, offset);
        }
        match bufs[first + 1..].iter().position(|b| sealed_file(b).is_some()).map(|i| i + 1) {
            // The head before a sealed body is held back (MSG_MORE) to go
            // out in the same packets as the body's start, as nginx's
            // `tcp_nopush` does; hyper always writes the body next, and the
            // kernel sends what it holds back within 200 ms regardless.
            Some(sealed) => {
                let head = &bufs[first..first + sealed];
                let flags = rustix::net::SendFlags::MORE | rustix::net::SendFlags::NOSIGNAL;
                self.poll_send(cx, |socket| rustix::net::sendmsg(socket, head, &mut Default::default(), flags))
            }
            None => Pin::new(&mut self.0).poll_write_vectored(cx, &bufs[first..]),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(len: usize) -> Vec<u8> {
        let pattern = "<entry>Ανακοίνωση</entry>\n".as_bytes();
        (0..len).map(|i| pattern[i % pattern.len()]).collect()
    }

    #[test]
    fn large_buffers_are_sealed_and_found_by_any_slice_small_ones_are_not() {
        enable();
        let data = document(100_000);
        let sealed = bytes(data.clone());
        assert_eq!(sealed.as_ref(), data.as_slice());
        let (file, offset) = sealed_file(&sealed[20_000..90_000]).expect("a slice of a sealed buffer is found");
        assert_eq!(offset, 20_000);
        assert_eq!(file.metadata().unwrap().len(), 100_000);
        // Sealed: the file cannot be written or cut.
        assert!((&*file).write_all(b"x").is_err());
        assert!(file.set_len(10).is_err());
        // A slice reaching past the buffer, or a heap buffer, is not.
        assert!(sealed_file(&data[..50_000]).is_none());
        let small = bytes(document(1000));
        assert!(sealed_file(&small).is_none());
    }

    #[test]
    fn a_dropped_buffer_is_forgotten_before_its_memory_goes() {
        enable();
        let sealed = bytes(document(64 * 1024));
        let clone = sealed.slice(1000..40_000);
        let file = Arc::downgrade(&sealed_file(&sealed).expect("sealed").0);
        drop(sealed);
        assert!(sealed_file(&clone).is_some(), "a slice keeps it");
        drop(clone);
        assert!(file.upgrade().is_none(), "the file is out of the map and closed");
    }

    /// A client that reads slowly: the socket fills, `sendfile` sends part
    /// and waits, and the body still arrives whole and in order.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sealed_body_reaches_a_slow_reader_whole() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        enable();
        let data = document(3_000_000);
        let body = bytes(data.clone());
        assert!(sealed_file(&body).is_some());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.unwrap();
            let mut stream = Stream(socket);
            let head = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
            let mut sent = 0;
            let total = head.len() + body.len();
            while sent < total {
                let (a, b) = if sent < head.len() { (&head[sent..], &body[..]) } else { (&[][..], &body[sent - head.len()..]) };
                sent += stream.write_vectored(&[IoSlice::new(a), IoSlice::new(b)]).await.unwrap();
            }
            stream.shutdown().await.unwrap();
        });
        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let mut got = Vec::new();
        let mut chunk = vec![0; 7000];
        loop {
            let n = client.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..n]);
            if got.len() < 200_000 {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
        server.await.unwrap();
        assert_eq!(&got[..19], b"HTTP/1.1 200 OK\r\n\r\n");
        assert!(got[19..] == data[..], "the body arrives as it was");
    }
}
