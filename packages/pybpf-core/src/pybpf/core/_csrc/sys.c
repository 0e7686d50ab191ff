/* The syscall layer's C side: bpf(2), the owned-descriptor cells, the map
 * element and batch calls. Compiled into _pybpf_sys by pybpf/core/_sys_build.py,
 * after _uapi_types.h and pybpf_sys.h. */

long pybpf_bpf(int cmd, void *attr, unsigned int size)
{
    long rc = syscall(__NR_bpf, cmd, attr, size);
    return rc < 0 ? -errno : rc;
}

int pybpf_map_elem(int cmd, int fd, const void *key, void *value, uint64_t flags)
{
    struct pybpf_attr_map_elem attr;
    memset(&attr, 0, sizeof(attr));
    attr.map_fd = (uint32_t)fd;
    attr.key = (uint64_t)(uintptr_t)key;
    attr.value = (uint64_t)(uintptr_t)value;
    attr.flags = flags;
    if (syscall(__NR_bpf, cmd, &attr, sizeof(attr)) < 0)
        return -errno;
    return 0;
}

int pybpf_map_batch(int cmd, int fd, const void *in_batch, void *out_batch,
                    void *keys, void *values, uint32_t *count, uint64_t elem_flags)
{
    struct pybpf_attr_map_batch attr;
    int rc = 0;
    memset(&attr, 0, sizeof(attr));
    attr.in_batch = (uint64_t)(uintptr_t)in_batch;
    attr.out_batch = (uint64_t)(uintptr_t)out_batch;
    attr.keys = (uint64_t)(uintptr_t)keys;
    attr.values = (uint64_t)(uintptr_t)values;
    attr.count = *count;
    attr.map_fd = (uint32_t)fd;
    attr.elem_flags = elem_flags;
    if (syscall(__NR_bpf, cmd, &attr, sizeof(attr)) < 0)
        rc = -errno;
    /* The kernel reports how many elements it processed even on failure. */
    *count = attr.count;
    return rc;
}




/* Never hold descriptor 0: bpf_attr fields read 0 as "no fd". */
static int pybpf_fd_settle(int fd)
{
    if (fd == 0) {
        int moved = fcntl(0, F_DUPFD_CLOEXEC, 1);
        if (moved < 0)
            return -errno;
        close(0);
        fd = moved;
    }
    return fd;
}

long pybpf_bpf_fd(int cmd, void *attr, unsigned int size, struct pybpf_fd_cell *cell)
{
    long rc = syscall(__NR_bpf, cmd, attr, size);
    if (rc < 0)
        return -errno;
    rc = pybpf_fd_settle((int)rc);
    if (rc >= 0)
        cell->fd = (int32_t)rc;
    return rc;
}

int pybpf_fd_dup(int fd, struct pybpf_fd_cell *cell)
{
    int rc = fcntl(fd, F_DUPFD_CLOEXEC, 1);
    if (rc < 0)
        return -errno;
    cell->fd = rc;
    return rc;
}

int pybpf_fd_acquire(struct pybpf_fd_cell *cell);
void pybpf_fd_release(struct pybpf_fd_cell *cell);

int pybpf_fd_dup_cell(struct pybpf_fd_cell *from, struct pybpf_fd_cell *cell)
{
    int fd = pybpf_fd_acquire(from), rc;
    if (fd < 0)
        return -EBADF;
    rc = pybpf_fd_dup(fd, cell);
    pybpf_fd_release(from);
    return rc;
}

/* A command whose attr names the cell's fd at offset: the fd is written
 * there and held for the syscall. */
long pybpf_bpf_held(int cmd, void *attr, unsigned int size, struct pybpf_fd_cell *cell,
                    unsigned int offset)
{
    int32_t fd = pybpf_fd_acquire(cell);
    long rc;
    if (fd < 0)
        return -EBADF;
    memcpy((char *)attr + offset, &fd, sizeof(fd));
    rc = syscall(__NR_bpf, cmd, attr, size);
    if (rc < 0)
        rc = -errno;
    pybpf_fd_release(cell);
    return rc;
}

int pybpf_fd_acquire(struct pybpf_fd_cell *cell)
{
    uint32_t s = __atomic_load_n(&cell->state, __ATOMIC_ACQUIRE);
    do {
        if (s & PYBPF_FD_CLOSED)
            return -1;
    } while (!__atomic_compare_exchange_n(&cell->state, &s, s + 1, 1, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE));
    return cell->fd;
}

void pybpf_fd_release(struct pybpf_fd_cell *cell)
{
    uint32_t s = __atomic_sub_fetch(&cell->state, 1, __ATOMIC_ACQ_REL);
    if (s == PYBPF_FD_CLOSED && cell->fd >= 0)
        close(cell->fd);
}

/* acquire, noting in *held that it did: Python code releases through
 * pybpf_fd_unhold, which releases at most once per hold, so that an
 * exception between the two (a signal) can release it from a finalizer. */
int pybpf_fd_hold(struct pybpf_fd_cell *cell, int32_t *held)
{
    int fd = pybpf_fd_acquire(cell);
    if (fd >= 0)
        *held = 1;
    return fd;
}

void pybpf_fd_unhold(struct pybpf_fd_cell *cell, int32_t *held)
{
    if (__atomic_exchange_n(held, 0, __ATOMIC_ACQ_REL))
        pybpf_fd_release(cell);
}

/* 1 if this call closed the cell (close(2) now, or at the last release), 0
 * if it was closed already. */
int pybpf_fd_close(struct pybpf_fd_cell *cell)
{
    uint32_t s = __atomic_fetch_or(&cell->state, PYBPF_FD_CLOSED, __ATOMIC_ACQ_REL);
    if (s & PYBPF_FD_CLOSED)
        return 0;
    if (s == 0 && cell->fd >= 0)
        close(cell->fd);
    return cell->fd >= 0;
}

/* The number, now nobody's to close; -1 if the cell was closed already. */
int pybpf_fd_detach(struct pybpf_fd_cell *cell)
{
    uint32_t s = __atomic_fetch_or(&cell->state, PYBPF_FD_CLOSED | PYBPF_FD_KEPT,
                                   __ATOMIC_ACQ_REL);
    return s & PYBPF_FD_CLOSED ? -1 : cell->fd;
}

int pybpf_fd_map_elem(int cmd, struct pybpf_fd_cell *cell, const void *key, void *value,
                      uint64_t flags)
{
    int fd = pybpf_fd_acquire(cell), rc;
    if (fd < 0)
        return -EBADF;
    rc = pybpf_map_elem(cmd, fd, key, value, flags);
    pybpf_fd_release(cell);
    return rc;
}

int pybpf_fd_map_batch(int cmd, struct pybpf_fd_cell *cell, const void *in_batch,
                       void *out_batch, void *keys, void *values, uint32_t *count,
                       uint64_t elem_flags)
{
    int fd = pybpf_fd_acquire(cell), rc;
    if (fd < 0)
        return -EBADF;
    rc = pybpf_map_batch(cmd, fd, in_batch, out_batch, keys, values, count, elem_flags);
    pybpf_fd_release(cell);
    return rc;
}
