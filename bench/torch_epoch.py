#!/usr/bin/env python3
"""PyTorch side of `pnpm bench:epoch`: one epoch + test pass on CIFAR-10 binary files, the recipe rtkd runs.

Reads `ROOT/cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin` with numpy (the first
--subset / --test-subset records), then trains one epoch at batch --batch: shuffled order, random crop
(4 px zero padding) + horizontal flip on uint8 with numpy in this process (no DataLoader workers: on 2
cores they would take the compute threads' cores), normalisation with CIFAR-10's mean/std, SGD
(lr 0.05, momentum 0.9, weight decay 5e-4) on CE alone, 0.1*CE + 0.9*KL(T=4) (kd) or CE + 0.9*KL(T=4) + 200*AFD-RTK with a frozen teacher
(its initial weights, eval mode), then an eval-mode test pass under no_grad at the same batch size.
Networks and losses: bench/torch_step.py's. Prints `RESULT {json}` with the phases' wall and CPU seconds.
With --serve (bench/epoch.mjs --interleave) it prints `READY` once set up, `STEP {json}` after each
training step and `DONE` after the test pass, and waits for a `go` line on stdin after each (any other
line, or EOF, ends it), so that the caller can time each of them while the other engine is stopped.

usage: python3 bench/torch_epoch.py --root DIR --model resnet20 [--teacher resnet56 --loss afd-rtk|kd]
                                    [--subset N] [--test-subset N] [--batch 64] [--threads 2] [--seed 0] [--serve]
"""
import argparse
import json
import os
import sys
import time

try:
    import numpy as np
    import torch
    import torch.nn.functional as F
except ImportError as error:  # the caller prints how to install it
    print('RESULT ' + json.dumps({'error': f'torch/numpy is not importable: {error}', 'unavailable': True}))
    sys.exit(0)

from torch_step import AfdRtk, kl_distillation, make_net

MEAN = np.array([0.4914, 0.4822, 0.4465], np.float32)
STD = np.array([0.247, 0.2435, 0.2616], np.float32)
RECORD = 3073


def read_records(paths, limit):
    """Labels (int64) and NHWC uint8 images of the first `limit` records of CIFAR-10 binary files."""
    chunks, have = [], 0
    for path in paths:
        if limit is not None and have >= limit:
            break
        raw = np.fromfile(path, np.uint8)
        if raw.size % RECORD:
            raise SystemExit(f'{path}: {raw.size} bytes is not a whole number of {RECORD}-byte records')
        raw = raw.reshape(-1, RECORD)
        if limit is not None:
            raw = raw[:limit - have]
        chunks.append(raw)
        have += raw.shape[0]
    raw = np.concatenate(chunks)
    return raw[:, 0].astype(np.int64), raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)


def normalise(images):
    """uint8 NHWC -> float32 NCHW tensor in channels-last memory (no copy of the NHWC buffer's layout)."""
    x = (images.astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(x).permute(0, 3, 1, 2)


def augment(images, rng):
    """Random crop of 32x32 from the 4-pixel zero-padded image, then a horizontal flip with p = 0.5."""
    n = images.shape[0]
    padded = np.zeros((n, 40, 40, 3), np.uint8)
    padded[:, 4:36, 4:36] = images
    dy, dx, flip = rng.integers(0, 9, n), rng.integers(0, 9, n), rng.random(n) < 0.5
    out = np.empty_like(images)
    for i in range(n):
        crop = padded[i, dy[i]:dy[i] + 32, dx[i]:dx[i] + 32]
        out[i] = crop[:, ::-1] if flip[i] else crop
    return out


def wait_for_go(tag, data=None):
    """--serve: announce `tag` (with optional json) and wait for the caller's `go`; exit on anything else."""
    print(tag + ('' if data is None else ' ' + json.dumps(data)), flush=True)
    if sys.stdin.readline().strip() != 'go':
        sys.exit(0)


def cpu_clock():
    return time.perf_counter(), time.process_time()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--root', required=True)
    parser.add_argument('--model', required=True)
    parser.add_argument('--teacher')
    parser.add_argument('--loss', choices=['kd', 'afd-rtk'])
    parser.add_argument('--subset', type=int)
    parser.add_argument('--test-subset', type=int)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--serve', action='store_true')
    args = parser.parse_args()
    if args.teacher and not args.loss:
        raise SystemExit('--teacher needs --loss kd or afd-rtk')
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    fmt = torch.channels_last
    folder = os.path.join(args.root, 'cifar-10-batches-bin')

    t0, c0 = cpu_clock()
    train_y, train_x = read_records([os.path.join(folder, f'data_batch_{i}.bin') for i in range(1, 6)], args.subset)
    test_y, test_x = read_records([os.path.join(folder, 'test_batch.bin')], args.test_subset)
    student = make_net(args.model, classes=10).to(memory_format=fmt).train()
    teacher = make_net(args.teacher, classes=10).to(memory_format=fmt).eval() if args.teacher else None
    params = list(student.parameters())
    afd = None
    if args.loss == 'afd-rtk':
        with torch.no_grad():
            probe = normalise(train_x[:1]).contiguous(memory_format=fmt)
            ft, fs = teacher(probe)[0], student(probe)[0]
        afd = AfdRtk([tuple(f.shape[1:]) for f in fs], [tuple(f.shape[1:]) for f in ft]).train()
        params += list(afd.parameters())
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=5e-4)
    if args.serve:
        wait_for_go('READY')
    t1, c1 = cpu_clock()

    ce_weight = 0.1 if args.loss == 'kd' else 1.0  # rtkd's defaults: kd = 0.1*CE + 0.9*KL; afd-rtk = CE + 0.9*KL + 200*AFD
    order = rng.permutation(train_y.shape[0])
    steps, step_wall, loss_value = 0, [], float('nan')
    for start in range(0, order.size, args.batch):
        s0 = time.perf_counter()
        index = order[start:start + args.batch]
        x = normalise(augment(train_x[index], rng)).contiguous(memory_format=fmt)
        y = torch.from_numpy(train_y[index])
        opt.zero_grad(set_to_none=True)
        s_feats, s_logits = student(x)
        loss = ce_weight * F.cross_entropy(s_logits, y)
        if teacher is not None:
            with torch.no_grad():
                t_feats, t_logits = teacher(x)
            loss = loss + 0.9 * kl_distillation(s_logits, t_logits, 4.0)
            if afd is not None:
                loss = loss + 200 * afd(s_feats, t_feats)
        loss.backward()
        opt.step()
        loss_value = loss.item()
        steps += 1
        step_wall.append(time.perf_counter() - s0)
        total = (order.size + args.batch - 1) // args.batch
        if steps % max(1, round(total / 10)) == 0 or steps == total:
            print(f'  torch step {steps}/{total}, {steps * args.batch / sum(step_wall):.0f} images/s', file=sys.stderr)
        if args.serve:
            wait_for_go('STEP', {'step': steps})
    t2, c2 = cpu_clock()

    student.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, test_y.shape[0], args.batch):
            x = normalise(test_x[start:start + args.batch]).contiguous(memory_format=fmt)
            correct += int((student(x)[1].argmax(1) == torch.from_numpy(test_y[start:start + args.batch])).sum())
    t3, c3 = cpu_clock()
    if args.serve:
        wait_for_go('DONE')

    rest = step_wall[1:] or step_wall
    print('RESULT ' + json.dumps({
        'engine': 'torch', 'version': torch.__version__, 'threads': torch.get_num_threads(), 'batch': args.batch,
        'setupSeconds': t1 - t0, 'steps': steps, 'trainImages': int(order.size), 'trainSeconds': t2 - t1,
        'firstStepSeconds': step_wall[0], 'secondsPerStep': sum(rest) / len(rest),
        'testImages': int(test_y.shape[0]), 'testSeconds': t3 - t2,
        'epochSeconds': t3 - t1, 'epochCpuSeconds': c3 - c1, 'totalSeconds': t3 - t0,
        'loss': loss_value, 'testTop1': 100.0 * correct / max(1, test_y.shape[0]),
    }))


if __name__ == '__main__':
    main()
