// Camera model: OpenCV distortion forward and inverse, projection of local points, ground-plane placement of
// pixels, with the real S110 calibrations. Expected values from OpenCV 4.6 (see the derivation notes).

import t from 'tap';
import { defaultConfig } from '../runtime/config/index.js';
import { CameraModel, Georef, RigidTransform, type Vec3 } from '../runtime/perception/index.js';

const cfg = defaultConfig();
const georef = new Georef(cfg.rsu.reference, cfg.rsu.stationFrame);
const camera = (id: string) => {
  const s = cfg.sensors.find((x) => x.id === id)!;
  return new CameraModel(s.intrinsics!, georef.sensorToLocal(s.pose));
};
const dist = (p: Vec3, q: Vec3) => Math.hypot(p.x - q.x, p.y - q.y, p.z - q.z);

// A camera whose optical frame is the local frame (x right, y down, z forward): body → local is R_body_opticalᵀ.
const opticalIsLocal = new RigidTransform(Float64Array.of(0, -1, 0, 0, 0, -1, 1, 0, 0), new Float64Array(3));

t.test('the OpenCV rational + tangential model: forward and inverse agree with OpenCV', async (t) => {
  // cv2.projectPoints(pts, rvec=0, tvec=0, K, dist) and cv2.undistortPointsIter (OpenCV 4.6.0) with
  //   K = [[1000, 0, 640], [0, 1010, 360], [0, 0, 1]], dist = [-0.3, 0.1, 0.001, -0.002, -0.02, 0.05, 0.01, 0.002]
  const cam = new CameraModel({ width: 1280, height: 720, fx: 1000, fy: 1010, cx: 640, cy: 360, distortion: [-0.3, 0.1, 0.001, -0.002, -0.02, 0.05, 0.01, 0.002] }, opticalIsLocal);
  const cases: Array<[Vec3, number, number]> = [
    [{ x: 0.1, y: 0.05, z: 1 }, 739.509175, 410.277383],
    [{ x: -0.4, y: 0.3, z: 1 }, 271.080442, 639.330315],
    [{ x: 0.6, y: -0.35, z: 1 }, 1149.283538, 59.865894],
    [{ x: 0, y: 0, z: 1 }, 640, 360],
    [{ x: -0.7, y: -0.5, z: 2 }, 310.742358, 122.917908],
  ];
  for (const [p, u, v] of cases) {
    const px = cam.project(p)!;
    t.ok(Math.abs(px.u - u) < 1e-5 && Math.abs(px.v - v) < 1e-5, `project ${JSON.stringify(p)} → (${px.u.toFixed(6)}, ${px.v.toFixed(6)})`);
    const n = cam.undistort(u, v)!;
    t.ok(Math.abs(n.x - p.x / p.z) < 1e-8 && Math.abs(n.y - p.y / p.z) < 1e-8, `undistort (${u}, ${v}) → (${n.x}, ${n.y})`);
  }
  t.equal(cam.project({ x: 0, y: 0, z: -1 }), null, 'behind the camera');
  t.equal(cam.project({ x: 1, y: 0, z: 0 }), null, 'in the camera plane');
});

t.test('S110 south cameras project station points as OpenCV does with the calibration files', async (t) => {
  // /usr/bin/python3 with OpenCV 4.6.0: K and P from the calibration file (south2: calibrated_intrinsic_camera_matrix,
  // which its projection matrix was made with), M = K⁻¹P scaled so that its rotation part is proper, rvec =
  // Rodrigues(R), then cv2.projectPoints(station points, rvec, t, K, dist_coefficients).
  const cases: Record<string, Array<[[number, number, number], number, number]>> = {
    camera_south1: [
      [[3, 15, 0], 975.234761, 624.574463],
      [[-2.5, 25, 0], 507.326077, 400.558595],
      [[9, 7.5, 0], 1796.815526, 901.193412],
      [[3, 20, 1.5], 874.814954, 380.756827],
      [[10, 60, 0], 803.466415, 92.287539],
    ],
    camera_south2: [
      [[-30, 20, 0], 820.148848, 663.233658],
      [[-25, 12, 1.5], 771.257061, 872.695865],
      [[-60, 30, 0], 280.707828, 443.553275],
    ],
  };
  for (const [id, list] of Object.entries(cases)) {
    const cam = camera(id);
    for (const [[x, y, z], u, v] of list) {
      const px = cam.project(georef.stationToLocal.apply({ x, y, z }))!;
      t.ok(px && Math.abs(px.u - u) < 1e-3 && Math.abs(px.v - v) < 1e-3, `${id}: station (${x}, ${y}, ${z}) → (${px?.u.toFixed(4)}, ${px?.v.toFixed(4)}), OpenCV (${u}, ${v})`);
    }
  }
});

t.test('S110 south cameras place pixels on the ground where OpenCV does', async (t) => {
  // Same setup; cv2.undistortPointsIter(pixels, K, dist, criteria = 200 iterations / 1e-14), ray Rᵀ·(x, y, 1) from
  // the centre -Rᵀt, intersected with the station plane z = 0 (the ground of the demo site).
  const cases: Record<string, Array<[number, number, [number, number, number]]>> = {
    camera_south1: [
      [960, 1199, [0.272061, 6.888429, 0]],
      [100, 1100, [-6.050132, 9.583323, 0]],
      [1800, 900, [9.045605, 7.502944, 0]],
      [960, 600, [3.00918, 15.668872, 0]],
      [500, 400, [-2.627274, 25.069971, 0]],
    ],
    camera_south2: [
      [960, 1199, [-22.280034, 10.587078, 0]],
      [100, 1100, [-30.775422, 7.76644, 0]],
      [1800, 900, [-14.861517, 19.519423, 0]],
      [960, 600, [-29.296742, 23.940501, 0]],
      [500, 400, [-58.5338, 38.876796, 0]],
    ],
  };
  for (const [id, list] of Object.entries(cases)) {
    const cam = camera(id);
    for (const [u, v, [x, y, z]] of list) {
      const g = cam.groundPoint(u, v, 0);
      t.ok(g.ok, `${id} (${u}, ${v}) placed`);
      if (!g.ok) continue;
      const st = georef.localToStation.apply(g.point);
      const d = dist(st, { x, y, z });
      t.ok(d < 1e-3, `${id} (${u}, ${v}) → station (${st.x.toFixed(4)}, ${st.y.toFixed(4)}), OpenCV (${x}, ${y}): ${(d * 1000).toFixed(3)} mm`);
    }
  }
});

t.test('project(unproject(p)) round-trips over the whole image', async (t) => {
  for (const id of ['camera_south1', 'camera_south2']) {
    const cam = camera(id);
    let n = 0;
    let worst = 0;
    for (let u = 0; u <= 1920; u += 80)
      for (let v = 0; v <= 1200; v += 60) {
        const g = cam.groundPoint(u, v, 0);
        if (!g.ok) continue;
        const px = cam.project(g.point)!;
        worst = Math.max(worst, Math.hypot(px.u - u, px.v - v));
        n++;
        // And the other way: the ground point of the projection is the point.
        const again = cam.groundPoint(px.u, px.v, 0);
        t.ok(again.ok && dist(again.point, g.point) < 1e-6 * Math.max(1, g.range));
      }
    t.ok(n > 250, `${id}: ${n} pixels on the ground`);
    t.ok(worst < 1e-6, `${id}: worst pixel round trip ${worst.toExponential(2)} px`);
  }
  // On a raised plane too.
  const cam = camera('camera_south1');
  const g = cam.groundPoint(700, 900, 1.25);
  t.ok(g.ok && Math.abs(g.point.z - 1.25) < 1e-12);
  if (g.ok) {
    const px = cam.project(g.point)!;
    t.ok(Math.hypot(px.u - 700, px.v - 900) < 1e-6);
  }
});

t.test('the S110 south cameras see the road a plausible distance in front of them', async (t) => {
  for (const id of ['camera_south1', 'camera_south2']) {
    const s = cfg.sensors.find((x) => x.id === id)!;
    const cam = camera(id);
    // The camera's horizontal viewing direction in the local frame.
    const fwd = georef.sensorToLocal(s.pose).applyVector({ x: 1, y: 0, z: 0 });
    const fwdAz = Math.atan2(fwd.y, fwd.x);
    for (const u of [0, 480, 960, 1440, 1919]) {
      const g = cam.groundPoint(u, 1199, 0);
      t.ok(g.ok, `${id}: bottom pixel (${u}, 1199) is on the ground`);
      if (!g.ok) continue;
      t.ok(g.range > 3 && g.range < 20, `${id} (${u}, 1199): ${g.range.toFixed(1)} m from the camera (${g.height.toFixed(1)} m high)`);
      const off = Math.abs(Math.atan2(Math.sin(g.azimuth - fwdAz), Math.cos(g.azimuth - fwdAz)));
      t.ok(off < (60 * Math.PI) / 180, `${id} (${u}, 1199): ${((off * 180) / Math.PI).toFixed(0)}° off the viewing direction`);
    }
    // Higher rows are farther away.
    const rows = [1199, 1000, 800, 700].map((v) => cam.groundPoint(960, v, 0));
    const ranges = rows.map((g) => (g.ok ? g.range : NaN));
    t.ok(ranges.every((r, i) => i === 0 || r > ranges[i - 1]!), `${id}: range grows up the image: ${ranges.map((r) => r.toFixed(1)).join(', ')}`);
  }
});

t.test('pixels that cannot be placed are rejected with a reason', async (t) => {
  const south1 = camera('camera_south1');
  const south2 = camera('camera_south2');
  t.match(south1.groundPoint(960, 0, 0, 50), { ok: false, reason: 'beyond_range' }, 'the top of south1 is ~100 m away');
  t.match(south1.groundPoint(960, 0, 0), { ok: true }, 'without a range limit it is placed');
  t.match(south2.groundPoint(960, 0, 0), { ok: false, reason: 'above_horizon' }, 'south2 sees the sky at the top');
  t.match(south2.groundPoint(0, 0, 0), { ok: false, reason: 'outside_lens_model' }, 'its top-left corner is beyond the distortion model');
  t.match(south1.groundPoint(NaN, 10, 0), { ok: false, reason: 'non_finite' });
  t.match(south1.groundPoint(500, 900, 20), { ok: false, reason: 'above_horizon' }, 'a plane above the camera');
  // camera_north's calibration looks 60° upward (see test/config-tumtraf.test.ts): nothing lands on the ground.
  const north = camera('camera_north');
  let placed = 0;
  for (let u = 0; u <= 1920; u += 160) for (let v = 0; v <= 1200; v += 100) if (north.groundPoint(u, v, 0).ok) placed++;
  t.equal(placed, 0, 'camera_north places nothing');
  // The model's valid region: rMax is where the distorted radius stops growing.
  t.ok(south1.rMax > 1.4 && south1.rMax < 1.8, `rMax ${south1.rMax}`);
  t.equal(south1.project(georef.stationToLocal.apply({ x: 60, y: -20, z: 0 })), null, 'a point far off-axis is not projected (OpenCV gives -2.6e10 px there)');
  // Station (-45, 5, 0) is 61° off south2's axis (undistorted radius 1.81 > rMax): OpenCV puts it at
  // (-295.3, 957.6), left of the image, where the polynomial has already turned back; the model refuses it.
  t.equal(south2.project(georef.stationToLocal.apply({ x: -45, y: 5, z: 0 })), null, 'beyond the monotonic region of the distortion');
});

t.test('a camera without distortion is a pinhole', async (t) => {
  const cam = new CameraModel({ width: 1920, height: 1080, fx: 1200, fy: 1200, cx: 960, cy: 540, distortion: [] }, opticalIsLocal);
  t.same(cam.project({ x: 1, y: -0.5, z: 4 }), { u: 960 + 300, v: 540 - 150 });
  t.same(cam.undistort(1260, 390), { x: 0.25, y: -0.125 });
  t.equal(cam.rMax, 10);
});
