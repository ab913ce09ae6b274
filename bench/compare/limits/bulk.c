// SPDX-License-Identifier: MIT
// The loopback limit for the bulk workload: a plain C copy with blocking
// sockets, a sender pinned to CPU 1 writing 256 KiB chunks and a receiver
// pinned to CPU 0 reading into a 256 KiB buffer and dropping it, the same
// shape as net_bench bulk (which also starts with an 8-byte length and ends
// with a 1-byte acknowledgement). Both sides copy every byte once, as any
// reader and writer of a stream must; nothing faster exists short of
// zero-copy on both ends.
//
//   bulk [BYTES]   -> prints MB/s
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { chunk = 1 << 18 };
static int listener;

static void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int read_full(int fd, void* p, size_t n) {
  for (size_t got = 0; got < n;) {
    ssize_t r = read(fd, (char*)p + got, n - got);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

static void* receiver(void* unused) {
  (void)unused;
  pin(0);
  int fd = accept(listener, NULL, NULL);
  uint64_t want;
  if (fd < 0 || read_full(fd, &want, sizeof want)) exit(1);
  char* buf = malloc(chunk);
  for (uint64_t got = 0; got < want;) {
    ssize_t r = read(fd, buf, chunk);
    if (r <= 0) exit(1);
    got += (uint64_t)r;
  }
  if (write(fd, "k", 1) != 1) exit(1);
  free(buf);
  close(fd);
  return NULL;
}

int main(int argc, char** argv) {
  uint64_t bytes = argc > 1 ? strtoull(argv[1], NULL, 10) : (uint64_t)1 << 30;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
  listener = socket(AF_INET, SOCK_STREAM, 0);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) || listen(listener, 1)) return perror("listen"), 1;
  socklen_t len = sizeof addr;
  getsockname(listener, (struct sockaddr*)&addr, &len);
  pthread_t t;
  pthread_create(&t, NULL, receiver, NULL);
  pin(1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr*)&addr, sizeof addr)) return perror("connect"), 1;
  char* buf = malloc(chunk);
  memset(buf, 'z', chunk);
  double t0 = now();
  if (write(fd, &bytes, sizeof bytes) != sizeof bytes) return 1;
  for (uint64_t sent = 0; sent < bytes;) {
    size_t part = bytes - sent < chunk ? (size_t)(bytes - sent) : chunk;
    ssize_t w = write(fd, buf, part);
    if (w <= 0) return perror("write"), 1;
    sent += (uint64_t)w;
  }
  char ack;
  if (read_full(fd, &ack, 1)) return 1;
  printf("%.0f\n", (double)bytes / (now() - t0) / 1e6);
  pthread_join(t, NULL);
  free(buf);
  close(fd);
  return 0;
}
