module multiproc.dev/multiproc

go 1.19
