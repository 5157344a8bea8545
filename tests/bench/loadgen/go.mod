module telemetry/bench/loadgen

go 1.26
