module stacklab/bench

go 1.26.0
