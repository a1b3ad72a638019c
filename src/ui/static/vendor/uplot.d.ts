// uPlot is served as its minified IIFE build (/ui/<version>/vendor/uplot.js, from node_modules/uplot),
// which defines the global `uPlot`; its types come from the package.
import type uPlotType from 'uplot';

declare global {
  // eslint-disable-next-line no-var
  var uPlot: typeof uPlotType;
  type UPlot = uPlotType;
  type UPlotOptions = uPlotType.Options;
  type UPlotSeries = uPlotType.Series;
  type UPlotData = uPlotType.AlignedData;
  type UPlotAxis = uPlotType.Axis;
}

export {};
