// SPDX-License-Identifier: MIT
// The loopback limit for the accept workload: what the kernel alone costs for
// "connect, one 100-byte round trip, close", with no event loop library at
// all. A plain C epoll server pinned to CPU 0 (accept4, read, write back,
// close on EOF) and a plain C epoll client pinned to CPU 1 keeping CONNS
// non-blocking connections in flight (connect, write, read, close, again).
// Same shape as aiocpp's and Python's accept benchmark (net_bench accept).
//
//   accept32 [TOTAL] [CONNS]   -> prints connections/s
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { msg = 100 };
static int listener;
static struct sockaddr_in addr;
static volatile int stop;

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

static void* server(void* unused) {
  (void)unused;
  pin(0);
  int ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &e);
  struct epoll_event ev[256];
  char buf[4096];
  while (!stop) {
    int n = epoll_wait(ep, ev, 256, 100);
    for (int i = 0; i < n; i++) {
      int fd = ev[i].data.fd;
      if (fd == listener) {
        for (;;) {
          int c = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
          if (c < 0) break;
          int one = 1;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0) {
        if (write(fd, buf, (size_t)r) < 0) close(fd);
      } else if (r == 0 || errno != EAGAIN) {
        close(fd);  // also leaves the epoll set
      }
    }
  }
  return NULL;
}

// One client connection slot: connecting, then waiting for the echo.
struct slot {
  int fd, got;
};

static void start(int ep, struct slot* s) {
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  s->got = -1;  // -1: connecting
  int one = 1;
  setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  connect(s->fd, (struct sockaddr*)&addr, sizeof addr);  // EINPROGRESS, or done at once on loopback
  struct epoll_event e = {.events = EPOLLOUT | EPOLLIN, .data.ptr = s};
  epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &e);
}

int main(int argc, char** argv) {
  long total = argc > 1 ? atol(argv[1]) : 20000;
  int conns = argc > 2 ? atoi(argv[2]) : 32;
  listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(0x7f000001);
  if (bind(listener, (struct sockaddr*)&addr, sizeof addr) || listen(listener, 1024)) return perror("listen"), 1;
  socklen_t len = sizeof addr;
  getsockname(listener, (struct sockaddr*)&addr, &len);
  pthread_t t;
  pthread_create(&t, NULL, server, NULL);
  pin(1);

  char out[msg], in[msg];
  memset(out, 'a', msg);
  int ep = epoll_create1(0);
  struct slot* slots = calloc((size_t)conns, sizeof *slots);
  long started = 0, done = 0;
  double t0 = now();
  for (int i = 0; i < conns && started < total; i++, started++) start(ep, &slots[i]);
  struct epoll_event ev[256];
  while (done < total) {
    int n = epoll_wait(ep, ev, 256, 1000);
    for (int i = 0; i < n; i++) {
      struct slot* s = ev[i].data.ptr;
      if (s->got < 0) {  // connected: send the message, now wait for the echo only
        if (!(ev[i].events & EPOLLOUT)) continue;
        if (write(s->fd, out, msg) != msg) return perror("write"), 1;
        s->got = 0;
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = s};
        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &e);
        continue;
      }
      ssize_t r = read(s->fd, in, sizeof in);
      if (r <= 0) continue;
      s->got += (int)r;
      if (s->got < msg) continue;
      close(s->fd);
      done++;
      if (started < total) {
        start(ep, s);
        started++;
      }
    }
  }
  printf("%.0f\n", (double)done / (now() - t0));
  stop = 1;
  pthread_join(t, NULL);
  free(slots);
  return 0;
}
