// The growbert package's entry point (`import { pretrain, grow } from 'growbert'`): the library API of
// src/api/. Two more entry points are exported by package.json: 'growbert/tensor' (the tensor API) and
// 'growbert/model' (the BERT model family, experimental); docs/api.md says what each promises.
export * from './api/index.js';
