"""Research harnesses: the few-shot and stream benchmarks, HumanMAC evaluation, the ablation and speed benchmarks. Nothing here ships to a camera host."""
