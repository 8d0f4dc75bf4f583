// Finds libtorch the way tch-rs does:
//   LIBTORCH=/dir            a libtorch folder (include/, lib/)
//   LIBTORCH_USE_PYTORCH=1   the libtorch inside python3's torch package (its ABI flag and CUDA)
//   otherwise                the system one (Debian/Ubuntu libtorch-dev, 1.13)
// Returns null when none is found. Plain JS with no dependencies: it runs before `npm ci`.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

function readVersion(includeDirs) {
  for (const d of includeDirs) {
    const f = path.join(d, 'torch', 'version.h');
    if (fs.existsSync(f)) {
      const s = fs.readFileSync(f, 'utf8');
      const get = (k) => Number((s.match(new RegExp(`#define TORCH_VERSION_${k} (\\d+)`)) || [])[1]);
      return `${get('MAJOR')}.${get('MINOR')}.${get('PATCH')}`;
    }
  }
  return 'unknown';
}

function abiFromCmake(root) {
  for (const f of [path.join(root, 'share/cmake/Torch/TorchConfig.cmake')]) {
    if (fs.existsSync(f)) {
      const m = fs.readFileSync(f, 'utf8').match(/_GLIBCXX_USE_CXX11_ABI=(\d)/);
      if (m) return Number(m[1]);
    }
  }
  return null;
}

function fromFolder(root, source) {
  const include = [path.join(root, 'include'), path.join(root, 'include/torch/csrc/api/include')];
  const libDir = path.join(root, 'lib');
  if (!fs.existsSync(path.join(include[0], 'ATen/ATen.h'))) {
    throw new Error(`${source}: ${root} has no include/ATen/ATen.h; point LIBTORCH at an unpacked libtorch folder`);
  }
  const cuda = fs.existsSync(path.join(libDir, 'libtorch_cuda.so'));
  const envAbi = process.env.LIBTORCH_CXX11_ABI;
  const abi = envAbi !== undefined ? Number(envAbi) : (abiFromCmake(root) ?? 1);
  return { source, root, include, libDir, cuda, cxx11abi: abi, version: readVersion(include) };
}

function fromPytorch() {
  const py = process.env.PYTHON || 'python3';
  let out;
  try {
    out = execFileSync(
      py,
      [
        '-c',
        'import torch, os; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI)); print(torch.version.cuda or "")',
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (e) {
    throw new Error(
      `LIBTORCH_USE_PYTORCH=1 but '${py} -c "import torch"' failed; install PyTorch for ${py} or unset LIBTORCH_USE_PYTORCH`,
    );
  }
  const [root, abi, cudaVer] = out.trim().split('\n');
  const info = fromFolder(root, 'LIBTORCH_USE_PYTORCH');
  info.cxx11abi = Number(abi);
  info.cuda = Boolean(cudaVer) && fs.existsSync(path.join(info.libDir, 'libtorch_cuda.so'));
  return info;
}

function fromSystem() {
  const multiarch = `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu`;
  for (const libDir of [`/usr/lib/${multiarch}`, '/usr/lib', '/usr/local/lib']) {
    const inc = libDir.replace(/\/lib(\/.*)?$/, '/include');
    if (fs.existsSync(path.join(libDir, 'libtorch.so')) && fs.existsSync(path.join(inc, 'ATen/ATen.h'))) {
      const include = [inc, path.join(inc, 'torch/csrc/api/include')];
      return {
        source: 'system',
        root: path.dirname(libDir),
        include,
        libDir,
        cuda: fs.existsSync(path.join(libDir, 'libtorch_cuda.so')),
        cxx11abi: 1,
        version: readVersion(include),
      };
    }
  }
  return null;
}

/**
 * @returns {{source:string, root:string, include:string[], libDir:string, cuda:boolean, cxx11abi:number,
 *   version:string} | null}
 */
export function findLibtorch() {
  if (process.env.LIBTORCH) return fromFolder(process.env.LIBTORCH, 'LIBTORCH');
  if (process.env.LIBTORCH_USE_PYTORCH === '1') return fromPytorch();
  return fromSystem();
}
