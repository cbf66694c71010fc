/*
 * A tiny static server and prober for the lab's pods (nothing can be pulled there):
 *   echo serve PORT                 answers every connection with "pong <hostname>\n"
 *   echo probe OUT HOST PORT ...    every second, connects to each HOST PORT and rewrites OUT with
 *                                   one line per target: "HOST:PORT <reply>" or "HOST:PORT error <why>"
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static void quit(int s) { (void)s; _exit(0); }

static int serve(int port) {
  char host[128] = "?", line[256];
  gethostname(host, sizeof host - 1);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 64)) { perror("listen"); return 1; }
  int n = snprintf(line, sizeof line, "pong %s\n", host);
  for (;;) {
    int c = accept(s, 0, 0);
    if (c < 0) continue;
    if (write(c, line, n) < 0) perror("write");
    close(c);
  }
}

static void probe1(FILE *out, const char *host, int port) {
  struct timeval tv = {.tv_sec = 2};
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  char buf[256] = {0};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(out, "%s:%d error bad address\n", host, port); return; }
  int s = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) fprintf(out, "%s:%d error %s\n", host, port, strerror(errno));
  else {
    ssize_t n = read(s, buf, sizeof buf - 1);
    if (n <= 0) fprintf(out, "%s:%d error no reply\n", host, port);
    else fprintf(out, "%s:%d %s", host, port, buf);
  }
  close(s);
}

static int probe(int argc, char **argv) {
  char tmp[512];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
  for (;;) {
    FILE *out = fopen(tmp, "w");
    if (!out) { perror(tmp); return 1; }
    for (int i = 3; i + 1 < argc; i += 2) probe1(out, argv[i], atoi(argv[i + 1]));
    fclose(out);
    rename(tmp, argv[2]);
    sleep(1);
  }
}

int main(int argc, char **argv) {
  signal(SIGTERM, quit);
  signal(SIGINT, quit);
  if (argc == 3 && !strcmp(argv[1], "serve")) return serve(atoi(argv[2]));
  if (argc >= 5 && !strcmp(argv[1], "probe")) return probe(argc, argv);
  fprintf(stderr, "usage: echo serve PORT | echo probe OUT HOST PORT...\n");
  return 2;
}
