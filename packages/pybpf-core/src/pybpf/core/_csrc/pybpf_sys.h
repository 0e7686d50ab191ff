/* Declarations of the C helpers (sys.c), valid both as C and as a cffi cdef:
 * fixed-width types only, no preprocessor. See FD_CLOSED in _sys_build.py
 * for the cell's states. */

struct pybpf_fd_cell {
    int32_t fd;
    uint32_t state;
};

/* Each returns the syscall's result, or -errno: reading errno from Python
 * after the call would cost a second trip through cffi. */
long pybpf_bpf(int cmd, void *attr, unsigned int size);
int pybpf_map_elem(int cmd, int fd, const void *key, void *value, uint64_t flags);
int pybpf_map_batch(int cmd, int fd, const void *in_batch, void *out_batch,
                    void *keys, void *values, uint32_t *count, uint64_t elem_flags);

long pybpf_bpf_fd(int cmd, void *attr, unsigned int size, struct pybpf_fd_cell *cell);
int pybpf_fd_dup(int fd, struct pybpf_fd_cell *cell);
int pybpf_fd_dup_cell(struct pybpf_fd_cell *from, struct pybpf_fd_cell *cell);
long pybpf_bpf_held(int cmd, void *attr, unsigned int size, struct pybpf_fd_cell *cell,
                    unsigned int offset);
int pybpf_fd_acquire(struct pybpf_fd_cell *cell);
void pybpf_fd_release(struct pybpf_fd_cell *cell);
int pybpf_fd_hold(struct pybpf_fd_cell *cell, int32_t *held);
void pybpf_fd_unhold(struct pybpf_fd_cell *cell, int32_t *held);
int pybpf_fd_close(struct pybpf_fd_cell *cell);
int pybpf_fd_detach(struct pybpf_fd_cell *cell);
int pybpf_fd_map_elem(int cmd, struct pybpf_fd_cell *cell, const void *key, void *value,
                      uint64_t flags);
int pybpf_fd_map_batch(int cmd, struct pybpf_fd_cell *cell, const void *in_batch,
                       void *out_batch, void *keys, void *values, uint32_t *count,
                       uint64_t elem_flags);
