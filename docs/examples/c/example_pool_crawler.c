/*
 * example_pool_crawler — the crawler pattern: workers download, callbacks
 * in the main process parse.
 *
 * Ports the crawler of "进程池和multiprocess.Pool" in 001_*.txt, without
 * the network: the "pages" are strings in an array, and downloading one
 * is a lookup and a short sleep (the network delay).
 *
 *     def get_page(url):                       # in a worker
 *         print('<进程%s> get %s' % (os.getpid(), url))
 *         response = requests.get(url)
 *         if response.status_code == 200:
 *             return {'url': url, 'text': response.text}
 *
 *     def parse_page(res):                     # the callback: in main
 *         print('<进程%s> parse %s' % (os.getpid(), res['url']))
 *         parse_res = 'url:<%s> size:[%s]\n' % (res['url'], len(res['text']))
 *         with open('db.txt', 'a') as f:
 *             f.write(parse_res)
 *
 *     if __name__ == '__main__':
 *         urls = ['https://www.baidu.com', 'https://www.python.org', ...]
 *         p = Pool(3)
 *         res_l = []
 *         for url in urls:
 *             res = p.apply_async(get_page, args=(url,), callback=parse_page)
 *             res_l.append(res)
 *         p.close()
 *         p.join()
 *         print([res.get() for res in res_l])
 *
 * The tutorial's reasoning: the slow part is the request (waiting on the
 * network), so only that goes to the pool; the parsing is done by the
 * main process in the callback as each page arrives, so the workers are
 * free for the next download at once.
 *
 * The task get_page returns the page as "url\ntext"; the callback
 * parse_page counts the words and appends a line to a list (instead of
 * db.txt). The callback runs on the pool's callback thread, one at a
 * time, but the list is shared with main(), so it is guarded by a mutex.
 * A page that is not found is a failed task (Python: get_page returns
 * None and parse_page then fails on None['url']); here it calls the
 * error callback with the task's message. Pages arrive in any order, so
 * the "get" and "parse" lines are checked as a set and the list is
 * printed sorted by url.
 */
#include <multiproc.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NWORKERS 3
#define LINE_MAX_LEN 160

/* The "web": url -> page text. */
typedef struct page {
  const char *url;
  const char *text;
} page_t;

static const page_t web[] = {
    {"https://www.baidu.com", "Baidu search: type a query and press enter"},
    {"https://www.python.org",
     "Python is a programming language that lets you work quickly and "
     "integrate systems more effectively"},
    {"https://www.openstack.org",
     "The most widely deployed open source cloud software in the world"},
    {"https://help.github.com/", "GitHub Docs: help for wherever you are"},
    {"http://www.sina.com.cn/", "Sina news"},
};
#define NPAGES (sizeof web / sizeof web[0])

/* What the crawler asks for: every page, and one that does not exist. */
static const char *const urls[] = {
    "https://www.baidu.com",    "https://www.python.org",
    "https://www.openstack.org", "https://help.github.com/",
    "http://www.sina.com.cn/",  "http://www.example.com/missing",
};
#define NURLS (sizeof urls / sizeof urls[0])

/* db.txt: the parsed lines, shared by the callbacks and main(). */
typedef struct db {
  pthread_mutex_t mu;
  char lines[NURLS][LINE_MAX_LEN];
  int count;
  int errors;
} db_t;

static int fail(const char *what, int rc) {
  const char *msg = mp_strerror(rc);
  const char *detail = mp_last_error();
  fprintf(stderr, "%s: %s (%s)\n", what, msg, detail);
  return EXIT_FAILURE;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* A task's result or error message in a malloc()ed buffer. */
static int give(void **out, size_t *out_len, const char *fmt1, const char *s1,
                const char *s2) {
  size_t cap = strlen(fmt1) + strlen(s1) + strlen(s2) + 1;
  char *buf = malloc(cap); /* freed by the library */
  if (buf == NULL) return -1;
  int n = snprintf(buf, cap, fmt1, s1, s2);
  *out = buf;
  *out_len = (size_t)n;
  return 0;
}

/* def get_page(url): in a worker process. */
static int get_page(void **out, size_t *out_len, const void *arg,
                    size_t arg_len, void *payload) {
  (void)payload;
  printf("get %.*s\n", (int)arg_len, (const char *)arg);
  fflush(stdout); /* a worker is a process of its own */
  for (size_t i = 0; i < NPAGES; i++) {
    if (strlen(web[i].url) != arg_len || memcmp(web[i].url, arg, arg_len))
      continue;
    sleep_ms(50 + 30 * (long)(i % 3)); /* the network is slow */
    return give(out, out_len, "%s\n%s", web[i].url, web[i].text) < 0 ? 1 : 0;
  }
  sleep_ms(20);
  char url[LINE_MAX_LEN];
  snprintf(url, sizeof url, "%.*s", (int)arg_len, (const char *)arg);
  give(out, out_len, "404 Not Found: %s%s", url, ""); /* the message */
  return 1; /* the task failed */
}

static size_t count_words(const char *s, size_t len) {
  size_t words = 0;
  int in_word = 0;
  for (size_t i = 0; i < len; i++) {
    int space = isspace((unsigned char)s[i]);
    if (!space && !in_word) words++;
    in_word = !space;
  }
  return words;
}

/* def parse_page(res): the callback, in the main process. */
static void parse_page(mp_result_t *result, void *payload) {
  db_t *db = payload;
  const void *data = NULL;
  size_t len = 0;
  int rc = mp_result_get(&data, &len, result, 0); /* done: never waits */
  pthread_mutex_lock(&db->mu);
  const char *page = data;
  const char *nl = rc == MP_OK ? memchr(page, '\n', len) : NULL;
  if (nl == NULL) {
    fprintf(stderr, "parse_page: bad result: %s (%s)\n", mp_strerror(rc),
            mp_last_error());
    db->errors++;
  } else {
    int url_len = (int)(nl - page);
    const char *text = nl + 1;
    size_t text_len = len - (size_t)url_len - 1;
    printf("parse %.*s\n", url_len, page);
    fflush(stdout);
    if (db->count < (int)NURLS)
      snprintf(db->lines[db->count], LINE_MAX_LEN,
               "url:<%.*s> words:[%zu] size:[%zu]", url_len, page,
               count_words(text, text_len), text_len);
    db->count++;
  }
  pthread_mutex_unlock(&db->mu);
}

/* error_callback: the page could not be downloaded. */
static void page_error(mp_result_t *result, void *payload) {
  db_t *db = payload;
  const void *data = NULL;
  size_t len = 0;
  int rc = mp_result_get(&data, &len, result, 0);
  pthread_mutex_lock(&db->mu);
  printf("error %s: %.*s\n", mp_err_name(rc), (int)len,
         data != NULL ? (const char *)data : "");
  fflush(stdout);
  db->errors++;
  pthread_mutex_unlock(&db->mu);
}

static int cmp_line(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

int main(int argc, char **argv) {
  int rc = mp_register_task("get_page", get_page, NULL);
  if (rc < 0) return fail("mp_register_task", rc);
  rc = mp_main(argc, argv);
  if (rc < 0) return fail("mp_main", rc);

  db_t db;
  memset(&db, 0, sizeof db);
  if (pthread_mutex_init(&db.mu, NULL) != 0) {
    fprintf(stderr, "pthread_mutex_init failed\n");
    return EXIT_FAILURE;
  }
  mp_pool_opts_t *opts = NULL;
  mp_pool_t *pool = NULL;
  mp_result_t *res_l[NURLS] = {NULL};
  int status = EXIT_SUCCESS;

  rc = mp_pool_opts_new(&opts);
  if (rc < 0) {
    status = fail("mp_pool_opts_new", rc);
    goto out;
  }
  rc = mp_pool_opts_set_workers(opts, NWORKERS); /* Pool(3) */
  if (rc < 0) {
    status = fail("mp_pool_opts_set_workers", rc);
    goto out;
  }
  rc = mp_pool_new(&pool, opts);
  if (rc < 0) {
    status = fail("mp_pool_new", rc);
    goto out;
  }
  printf("main: crawling %zu urls with Pool(%d)\n", NURLS, NWORKERS);
  fflush(stdout); /* before the workers print */

  for (size_t i = 0; i < NURLS; i++) {
    rc = mp_pool_apply_async(&res_l[i], pool, "get_page", urls[i],
                             strlen(urls[i]), parse_page, page_error, &db);
    if (rc < 0) {
      status = fail("mp_pool_apply_async", rc);
      goto out;
    }
  }
  rc = mp_pool_close(pool);
  if (rc < 0) {
    status = fail("mp_pool_close", rc);
    goto out;
  }
  rc = mp_pool_join(pool, MP_FOREVER); /* every callback has run now */
  if (rc < 0) {
    status = fail("mp_pool_join", rc);
    goto out;
  }
  printf("main: pool closed and joined\n");

  /* [res.get() for res in res_l]: already handled by the callbacks. */
  int ok = 0, failed = 0;
  for (size_t i = 0; i < NURLS; i++) {
    const void *data = NULL;
    size_t len = 0;
    rc = mp_result_get(&data, &len, res_l[i], 0);
    if (rc == MP_OK)
      ok++;
    else if (rc == MP_ETASKFAILED)
      failed++;
    else
      status = fail("mp_result_get", rc);
  }
  printf("main: res.get(): %d pages, %d failed\n", ok, failed);

  pthread_mutex_lock(&db.mu); /* no callback runs any more; lock anyway */
  int n = db.count < (int)NURLS ? db.count : (int)NURLS;
  qsort(db.lines, (size_t)n, sizeof db.lines[0], cmp_line);
  printf("main: db.txt, sorted:\n");
  for (int i = 0; i < n; i++) printf("%s\n", db.lines[i]);
  if (db.count != (int)NPAGES || db.errors != 1 || ok != (int)NPAGES ||
      failed != 1)
    status = EXIT_FAILURE;
  pthread_mutex_unlock(&db.mu);

out:
  for (size_t i = 0; i < NURLS; i++) mp_result_free(res_l[i]);
  mp_pool_free(pool);
  mp_pool_opts_free(opts);
  pthread_mutex_destroy(&db.mu);
  return status;
}
