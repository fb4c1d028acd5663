#!/usr/bin/env python3
"""PyTorch side of `pnpm bench:vs-torch`: times the same training steps as bench/vs-torch.mjs.

Written for this repo from the architecture and loss descriptions in the project notes
(RepDistiller-style CIFAR ResNet / pre-activation Wide ResNet; AFD with a Representative Teacher
Key, teacher-layer variant (rtkd's default), SoftPool resizing; CE + 0.9*KL(T=4) + 200*AFD-RTK). It is a timing
reference, not a numerical one: initialisations follow the same rules but are not the same draws.

The cross-architecture students (vgg8, mobilenetv2, shufflev1, shufflev2) follow the layer lists in
@rtkd/models' READMEs (RepDistiller's CIFAR variants): same layers, widths, strides and groups.

usage: python3 bench/torch_step.py --case resnet20|wrn_16_2|distill|vgg8|mobilenetv2|shufflev1|shufflev2
                                   [--threads 2] [--batch 64]
                                   [--steps 5] [--warmup 2] [--channels-last 1] [--serve]
Prints one line `RESULT {json}` with the median wall and process-CPU ms per step. With --serve
(bench/vs-torch.mjs --interleave) it builds the case, prints `READY`, then runs one step for each
`step` line read from stdin and prints `STEP {json}` (wall and CPU ms, loss) until `end` or EOF.
"""
import argparse
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as error:  # the caller prints how to install it
    print('RESULT ' + json.dumps({'error': f'torch is not importable: {error}', 'unavailable': True}))
    sys.exit(0)


# ----------------------------------------------------------------------------- networks (NCHW)

def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class ResBlock(nn.Module):
    """Post-activation basic block; 1x1 conv + BN projection when the shape changes."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1, self.bn1 = conv3x3(cin, cout, stride), nn.BatchNorm2d(cout)
        self.conv2, self.bn2 = conv3x3(cout, cout), nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNet(nn.Module):
    """CIFAR ResNet, depth 6n+2, filters [16, 16, 32, 64]; features = every block output."""

    def __init__(self, depth, filters=(16, 16, 32, 64), classes=100):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1, self.bn1 = conv3x3(3, filters[0]), nn.BatchNorm2d(filters[0])
        blocks, cin = [], filters[0]
        for stage, width in enumerate(filters[1:]):
            for i in range(n):
                blocks.append(ResBlock(cin, width, 2 if stage > 0 and i == 0 else 1))
                cin = width
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        feats = []
        for block in self.blocks:
            h = block(h)
            feats.append(h)
        return feats, self.fc(h.mean((2, 3)))


class WrnBlock(nn.Module):
    """Pre-activation basic block (BN-ReLU-conv-BN-ReLU-conv); 1x1 conv shortcut when widths differ."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), conv3x3(cin, cout, stride)
        self.bn2, self.conv2 = nn.BatchNorm2d(cout), conv3x3(cout, cout)
        self.shortcut = None if cin == cout else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x):
        act = F.relu(self.bn1(x))
        out = self.conv2(F.relu(self.bn2(self.conv1(act))))
        return out + (x if self.shortcut is None else self.shortcut(act)), act


class WideResNet(nn.Module):
    """WRN-d-k, depth 6n+4, widths [16, 16k, 32k, 64k]; features = activated block inputs 2.. + final BN-ReLU."""

    def __init__(self, depth, widen, classes=100):
        super().__init__()
        n = (depth - 4) // 6
        widths = [16, 16 * widen, 32 * widen, 64 * widen]
        self.conv1 = conv3x3(3, widths[0])
        blocks, cin = [], widths[0]
        for stage, width in enumerate(widths[1:]):
            for i in range(n):
                blocks.append(WrnBlock(cin, width, 2 if stage > 0 and i == 0 else 1))
                cin = width
        self.blocks = nn.ModuleList(blocks)
        self.bn = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))

    def forward(self, x):
        h = self.conv1(x)
        acts = []
        for block in self.blocks:
            h, act = block(h)
            acts.append(act)
        final = F.relu(self.bn(h))
        return acts[1:] + [final], self.fc(final.mean((2, 3)))


def conv_bn(cin, cout, k, stride=1, groups=1, relu=True):
    """Conv (no bias, padding k//2) + BN (+ ReLU)."""
    layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if relu else nn.Sequential(*layers)


def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class Vgg(nn.Module):
    """CIFAR VGG with BN: five blocks of 3x3 conv(+bias)-BN-ReLU, 2x2 max pool after the first three."""

    def __init__(self, widths, classes=100):
        super().__init__()
        blocks, cin = [], 3
        for block in widths:
            layers = []
            for w in block:
                layers += [nn.Conv2d(cin, w, 3, 1, 1), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
                cin = w
            blocks.append(nn.Sequential(*layers))
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        feats = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            feats.append(x)
            if i < 3:
                x = F.max_pool2d(x, 2)
        return feats, self.fc(x.mean((2, 3)))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expansion):
        super().__init__()
        hidden = cin * expansion
        self.body = nn.Sequential(conv_bn(cin, hidden, 1), conv_bn(hidden, hidden, 3, stride, hidden), conv_bn(hidden, cout, 1, relu=False))
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    """Width 0.5, expansion 6, stride-2 stem; groups of inverted residuals; 1x1 conv to 1280."""

    def __init__(self, classes=100, expansion=6, width=0.5):
        super().__init__()
        settings = [(1, 16, 1, 1), (expansion, 24, 2, 1), (expansion, 32, 3, 2), (expansion, 64, 4, 2),
                    (expansion, 96, 3, 1), (expansion, 160, 3, 2), (expansion, 320, 1, 1)]
        cin = int(32 * width)
        self.stem = conv_bn(3, cin, 3, 2)
        blocks = []
        for t, c, n, s in settings:
            for i in range(n):
                blocks.append(InvertedResidual(cin, int(c * width), s if i == 0 else 1, t))
                cin = int(c * width)
        self.blocks = nn.ModuleList(blocks)
        self.head = conv_bn(cin, 1280, 1)
        self.fc = nn.Linear(1280, classes)

    def forward(self, x):
        x = self.stem(x)
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats, self.fc(self.head(x).mean((2, 3)))


class ShuffleV1Unit(nn.Module):
    """Grouped 1x1, shuffle, depthwise 3x3, grouped 1x1; stride 2 concatenates a 3x3 average pool of the input."""

    def __init__(self, cin, cout, stride, groups):
        super().__init__()
        mid = cout // 4
        self.first_groups, self.stride = (1 if cin == 24 else groups), stride
        self.a = conv_bn(cin, mid, 1, groups=self.first_groups)
        self.b = conv_bn(mid, mid, 3, stride, mid)
        self.c = conv_bn(mid, cout, 1, groups=groups, relu=False)

    def forward(self, x):
        y = self.c(self.b(channel_shuffle(self.a(x), self.first_groups)))
        return F.relu(torch.cat([y, F.avg_pool2d(x, 3, 2, 1)], 1) if self.stride == 2 else y + x)


class ShuffleV2Down(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        mid = cout // 2
        self.left = nn.Sequential(conv_bn(cin, cin, 3, 2, cin, relu=False), conv_bn(cin, mid, 1))
        self.right = nn.Sequential(conv_bn(cin, mid, 1), conv_bn(mid, mid, 3, 2, mid, relu=False), conv_bn(mid, mid, 1))

    def forward(self, x):
        return channel_shuffle(torch.cat([self.left(x), self.right(x)], 1), 2)


class ShuffleV2Basic(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.half = channels // 2
        h = self.half
        self.branch = nn.Sequential(conv_bn(h, h, 1), conv_bn(h, h, 3, 1, h, relu=False), conv_bn(h, h, 1))

    def forward(self, x):
        return channel_shuffle(torch.cat([x[:, :self.half], self.branch(x[:, self.half:])], 1), 2)


class ShuffleNet(nn.Module):
    """1x1 stem to 24 channels, three stages starting with a stride-2 unit, optional 1x1 head conv."""

    def __init__(self, version, classes=100):
        super().__init__()
        self.stem = conv_bn(3, 24, 1)
        units, cin = [], 24
        if version == 1:
            for width, n in ((240, 4), (480, 8), (960, 4)):
                for i in range(n):
                    units.append(ShuffleV1Unit(cin, width - cin if i == 0 else width, 2 if i == 0 else 1, 3))
                    cin = width
            self.head = nn.Identity()
        else:
            for width, n in ((116, 3), (232, 7), (464, 3)):
                units.append(ShuffleV2Down(cin, width))
                units += [ShuffleV2Basic(width) for _ in range(n)]
                cin = width
            self.head = conv_bn(cin, 1024, 1)
            cin = 1024
        self.units = nn.ModuleList(units)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.stem(x)
        feats = []
        for unit in self.units:
            x = unit(x)
            feats.append(x)
        return feats, self.fc(self.head(x).mean((2, 3)))


STUDENTS = {
    'vgg8': lambda: Vgg([[64], [128], [256], [512], [512]]),
    'mobilenetv2': MobileNetV2,
    'shufflev1': lambda: ShuffleNet(1),
    'shufflev2': lambda: ShuffleNet(2),
}


def make_net(name, classes=100):
    if name in STUDENTS:
        return STUDENTS[name]()
    if name.startswith('resnet') and name[6:].isdigit():
        return ResNet(int(name[6:]), classes=classes)
    if name.startswith('wrn_'):
        _, depth, widen = name.split('_')
        return WideResNet(int(depth), int(widen), classes=classes)
    raise SystemExit(f'unknown net {name}')


# ----------------------------------------------------------------------------- AFD + RTK loss

class LinearBn(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.linear, self.bn = nn.Linear(cin, cout), nn.BatchNorm1d(cout)

    def forward(self, x):
        return self.bn(self.linear(x))


def soft_pool(x, k):
    """SoftPool with kernel = stride = k, stabilised by each window's max."""
    peak = F.max_pool2d(x, k)
    peak = peak.repeat_interleave(k, 2).repeat_interleave(k, 3)
    e = torch.exp(x - peak)
    return F.avg_pool2d(x * e, k) / F.avg_pool2d(e, k)


def resize_map(m, size):
    h = m.shape[2]
    if h > size:
        return soft_pool(m, h // size)
    if h < size:
        r = size // h
        return m.repeat_interleave(r, 2).repeat_interleave(r, 3)
    return m


def l2_normalize(v, dim):
    return v / v.norm(dim=dim, keepdim=True).clamp_min(1e-12)


class AfdRtk(nn.Module):
    """AFD's meta-network with RTK's default selection (teacher-layer, k = half of the teachers, AFD mass)."""

    def __init__(self, s_shapes, t_shapes, qk_dim=128, k_fraction=0.5):
        super().__init__()
        self.d, n_t, n_s = qk_dim, len(t_shapes), len(s_shapes)
        self.k = max(1, math.ceil(k_fraction * n_t))
        self.query = nn.ModuleList([LinearBn(c, qk_dim) for c, _, _ in t_shapes])
        self.key = nn.ModuleList([LinearBn(c, qk_dim) for c, _, _ in s_shapes])
        self.bilinear = LinearBn(qk_dim, qk_dim * n_t)
        self.p_t = nn.Parameter(torch.empty(n_t, qk_dim))
        self.p_s = nn.Parameter(torch.empty(n_s, qk_dim))
        nn.init.xavier_normal_(self.p_t)
        nn.init.xavier_normal_(self.p_s)
        self.unique = []
        self.unique_index = []
        for shape in t_shapes:
            if shape not in self.unique:
                self.unique.append(shape)
            self.unique_index.append(self.unique.index(shape))

    def forward(self, fs, ft):
        b, n_s, n_t, d = fs[0].shape[0], len(fs), len(ft), self.d
        query = torch.stack([q(f.mean((2, 3))) for q, f in zip(self.query, ft)], 1)  # b,T,d
        keys = torch.stack([F.relu(k(f.mean((2, 3)))) for k, f in zip(self.key, fs)], 1)  # b,S,d
        bilinear = self.bilinear(keys.reshape(b * n_s, d)).view(b, n_s, n_t, d)
        logits = (torch.einsum('bstq,btq->bts', bilinear, query) + self.p_t @ self.p_s.t()) / math.sqrt(d)
        # rtkd's default reading (teacher-layer): AFD's softmax over students; per sample only the
        # k teachers with the largest max_s logit count, rescaled so the total mass stays T.
        top = logits.max(2).values.topk(self.k, dim=1).indices  # b,k
        rows = torch.zeros(b, n_t).scatter_(1, top, 1.0)
        att = torch.softmax(logits, 2) * rows.unsqueeze(2) * (n_t / self.k)  # b,T,S
        maps = [f.pow(2).mean(1, keepdim=True) for f in fs]
        student_values = [l2_normalize(torch.stack([resize_map(m, h).reshape(b, h * w) for m in maps], 1), 2)
                          for _, h, w in self.unique]
        loss = 0
        for t, f in enumerate(ft):
            v_t = l2_normalize(f.pow(2).mean(1).reshape(b, -1), 1)
            dist = (student_values[self.unique_index[t]] - v_t.unsqueeze(1)).pow(2).mean(2)  # b,S
            loss = loss + (att[:, t] * dist).sum(1).mean()
        return loss


def kl_distillation(student_logits, teacher_logits, temperature):
    log_p = F.log_softmax(student_logits / temperature, 1)
    q = F.softmax(teacher_logits / temperature, 1)
    return F.kl_div(log_p, q, reduction='sum') * temperature ** 2 / student_logits.shape[0]


# ----------------------------------------------------------------------------- steps

def build_case(case, batch, channels_last):
    torch.manual_seed(0)
    x = torch.randn(batch, 3, 32, 32)
    y = torch.randint(0, 100, (batch,))
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = x.contiguous(memory_format=fmt)
    if case in ('resnet20', 'wrn_16_2') or case in STUDENTS:
        net = make_net(case).to(memory_format=fmt)
        net.train()
        opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

        def step():
            opt.zero_grad(set_to_none=True)
            _, logits = net(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            opt.step()
            return loss.item()
        return step
    if case == 'distill':
        teacher = make_net('wrn_40_2').to(memory_format=fmt).eval()
        student = make_net('wrn_16_2').to(memory_format=fmt).train()
        with torch.no_grad():
            ft, _ = teacher(x[:1])
            fs, _ = student(x[:1])
        afd = AfdRtk([tuple(f.shape[1:]) for f in fs], [tuple(f.shape[1:]) for f in ft]).train()
        params = list(student.parameters()) + list(afd.parameters())
        opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, weight_decay=5e-4)

        def step():
            with torch.no_grad():
                t_feats, t_logits = teacher(x)
            opt.zero_grad(set_to_none=True)
            s_feats, s_logits = student(x)
            loss = F.cross_entropy(s_logits, y) + 0.9 * kl_distillation(s_logits, t_logits, 4.0) + 200 * afd(s_feats, t_feats)
            loss.backward()
            opt.step()
            return loss.item()
        return step
    raise SystemExit(f'unknown case {case}')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--case', required=True)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--channels-last', type=int, default=1)
    parser.add_argument('--serve', action='store_true')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    step = build_case(args.case, args.batch, bool(args.channels_last))
    if args.serve:
        serve(step)
        return
    wall, cpu, loss = [], [], float('nan')
    for i in range(args.warmup + args.steps):
        dt, dc, loss = timed(step)
        print(f'  torch {args.case} {"warm-up" if i < args.warmup else i - args.warmup + 1}: {dt:.0f} ms (cpu {dc:.0f} ms) loss {loss:.3f}', file=sys.stderr)
        if i >= args.warmup:
            wall.append(dt)
            cpu.append(dc)
    print('RESULT ' + json.dumps({
        'engine': 'torch', 'version': torch.__version__, 'case': args.case, 'threads': torch.get_num_threads(),
        'batch': args.batch, 'steps': args.steps, 'warmup': args.warmup, 'channels_last': bool(args.channels_last),
        'ms': statistics.median(wall), 'cpu_ms': statistics.median(cpu), 'min_ms': min(wall), 'max_ms': max(wall), 'walls': wall, 'cpus': cpu, 'loss': loss,
    }))


def timed(step):
    """(wall ms, process CPU ms, loss) of one step."""
    t0, c0 = time.perf_counter(), time.process_time()
    loss = step()
    return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000, loss


def serve(step):
    """One step per `step` line on stdin, each answered by a `STEP {json}` line, until `end` or EOF."""
    print('READY', flush=True)
    for line in sys.stdin:
        if line.strip() != 'step':
            break
        ms, cpu_ms, loss = timed(step)
        print('STEP ' + json.dumps({'ms': ms, 'cpu_ms': cpu_ms, 'loss': loss}), flush=True)


if __name__ == '__main__':
    main()
