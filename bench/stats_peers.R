# The pROC side of bench/stats_peers.py: times pROC on the CSV files that stats_bench wrote.
# Usage: Rscript stats_peers.R REPEATS SEED BOOT_FILE BOOT_REPLICATES DATA_FILE...
# Prints one line per figure: "<file> <key> <values...>". Times are wall-clock seconds
# (system.time(...)["elapsed"]); for small n one timed run repeats the call `inner` times and
# reports the time per call, since system.time counts milliseconds.
suppressMessages(library(pROC))

args <- commandArgs(trailingOnly = TRUE)
repeats <- as.integer(args[1])
seed <- as.integer(args[2])
boot_file <- args[3]
boot_replicates <- as.integer(args[4])
files <- args[-(1:4)]

out <- function(name, key, v) cat(name, key, sprintf("%.17g", as.numeric(v)), "\n")

# Median and minimum over `repeats` timed runs (after one untimed run) of f, per call.
timed <- function(f, inner) {
  f()
  times <- replicate(repeats, system.time(for (k in seq_len(inner)) f())[["elapsed"]] / inner)
  c(median(times), min(times))
}

read_data <- function(path) read.csv(path, colClasses = c("integer", "numeric"))
make_roc <- function(d) roc(d$label, d$score, levels = c(0, 1), direction = "<", quiet = TRUE)

cat("versions pROC", as.character(packageVersion("pROC")), "\n")
cat("versions R", paste(R.version$major, R.version$minor, sep = "."), "\n")
for (path in files) {
  d <- read_data(path)
  name <- basename(path)
  inner <- max(1L, 100000L %/% nrow(d))
  r <- make_roc(d)
  out(name, "auc", auc(r))
  out(name, "se_delong", sqrt(var(r, method = "delong")))
  # The AUC from the raw data: roc() then auc(). DeLong: roc() then var(method = "delong").
  out(name, "auc_time", timed(function() auc(make_roc(d)), inner))
  out(name, "delong_time", timed(function() var(make_roc(d), method = "delong"), inner))
}

d <- read_data(boot_file)
r <- make_roc(d)
set.seed(seed)
t <- system.time(ci <- ci.auc(r, method = "bootstrap", boot.n = boot_replicates, boot.stratified = TRUE,
                              conf.level = 0.95, progress = "none"))[["elapsed"]]
out("bootstrap", "time", t)
out("bootstrap", "replicates", boot_replicates)
out("bootstrap", "percentile", ci[c(1, 3)])
